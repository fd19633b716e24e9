using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Tapo;

/// <summary>tests/Fixtures/tapo/golden.json: values of the reference TAPO functions (see README there).</summary>
internal sealed class GoldenTapo
{
    private static readonly Lazy<GoldenTapo> Instance = new(() => new GoldenTapo(TestPaths.Fixture("tapo", "golden.json")));

    public static GoldenTapo Load() => Instance.Value;

    public JsonElement Root { get; }

    private GoldenTapo(string path)
    {
        Root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    public JsonElement this[string path]
    {
        get
        {
            var e = Root;
            foreach (var part in path.Split('.')) e = e.GetProperty(part);
            return e;
        }
    }

    public double Number(string path) => this[path].GetDouble();

    /// <summary>A nested JSON list as a tensor of <paramref name="dtype"/>.</summary>
    public Tensor Tensor(string path, ScalarType dtype = ScalarType.Float64)
    {
        var shape = new List<long>();
        var e = this[path];
        while (e.ValueKind == JsonValueKind.Array) { shape.Add(e.GetArrayLength()); e = e[0]; }
        var flat = new List<double>();
        Flatten(this[path], flat);
        return tensor(flat.ToArray(), shape.ToArray()).to_type(dtype);
    }

    public double[] Flat(string path)
    {
        var flat = new List<double>();
        Flatten(this[path], flat);
        return flat.ToArray();
    }

    private static void Flatten(JsonElement e, List<double> into)
    {
        if (e.ValueKind == JsonValueKind.Array) foreach (var c in e.EnumerateArray()) Flatten(c, into);
        else into.Add(e.GetDouble());
    }
}

internal static class Close
{
    /// <summary>
    /// |actual − expected| ≤ rel·|expected| + absFloor for every element (with absFloor 0, exact zeros must come out as
    /// zeros). Reports the largest relative error to the test output.
    /// </summary>
    public static void Relative(double[] expected, Tensor actual, double rel = 1e-5, string what = "", double absFloor = 0)
    {
        var a = actual.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: max relative error {MaxRelativeError(expected, actual):E2} over {a.Length} values");
        for (int i = 0; i < a.Length; i++)
        {
            double tol = rel * Math.Abs(expected[i]) + absFloor;
            Assert.True(Math.Abs(a[i] - expected[i]) <= tol,
                $"{what}[{i}]: expected {expected[i]:R}, got {a[i]:R} (rel. error {Math.Abs(a[i] - expected[i]) / Math.Abs(expected[i]):E2} > {rel:E0})");
        }
    }

    public static void Relative(double expected, double actual, double rel = 1e-5, string what = "") =>
        Assert.True(Math.Abs(actual - expected) <= rel * Math.Abs(expected),
            $"{what}: expected {expected:R}, got {actual:R} (rel. error {Math.Abs(actual - expected) / Math.Abs(expected):E2})");

    /// <summary>Largest relative error over all elements (for reporting).</summary>
    public static double MaxRelativeError(double[] expected, Tensor actual)
    {
        var a = actual.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            if (expected[i] != 0) max = Math.Max(max, Math.Abs(a[i] - expected[i]) / Math.Abs(expected[i]));
        return max;
    }
}
