using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary>
/// One HF reference folder (format: tests/Fixtures/qwen2_5_vl/README.md): config, weights, expected tensors and
/// scalars. Folders: every tests/Fixtures/qwen2_5_vl/* with expected.safetensors, plus FINER1_PARITY_FIXTURES.
/// </summary>
internal sealed class ParityFixture : IDisposable
{
    public string Folder { get; }
    public Qwen2_5_VLConfig Config { get; }
    public SafetensorsFile Expected { get; }
    public JsonElement Json { get; }

    private ParityFixture(string folder)
    {
        Folder = folder;
        Config = Qwen2_5_VLConfig.Load(folder);
        Expected = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        Json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json"))).RootElement;
    }

    public static ParityFixture Open(string folder) => new(folder);

    public static TheoryData<string> Folders()
    {
        var data = new TheoryData<string>();
        var root = TestPaths.Fixture("qwen2_5_vl");
        foreach (var dir in Directory.GetDirectories(root).Order())
            if (File.Exists(Path.Combine(dir, "expected.safetensors"))) data.Add(dir);
        foreach (var dir in TestPaths.FromEnvironment("FINER1_PARITY_FIXTURES")) data.Add(dir);
        return data;
    }

    public Tensor Tensor(string name) => Expected.Read(name);

    /// <summary>Grid rows of the first k images, k = vision_start tokens in the prompt.</summary>
    public Tensor ImageGridThw()
    {
        using var ids = Tensor("input_ids");
        long k = ids.eq(Config.VisionStartTokenId).sum().item<long>();
        var rows = Json.GetProperty("images").EnumerateArray().Take((int)k)
            .SelectMany(img => img.GetProperty("grid_thw").EnumerateArray().Select(x => x.GetInt64())).ToArray();
        return tensor(rows, [k, 3], ScalarType.Int64);
    }

    /// <summary>Processor output of the first k images, concatenated in prompt order.</summary>
    public Tensor PixelValues()
    {
        using var grid = ImageGridThw();
        var parts = Enumerable.Range(0, (int)grid.shape[0]).Select(i => Tensor($"image{i}_pixel_values")).ToArray();
        return torch.cat(parts, 0);
    }

    /// <summary>
    /// Builds the model and loads model.safetensors through <see cref="CheckpointLoader"/> (HF stores the legacy 4.x
    /// names). Names of the model absent from the file are returned (the tied lm_head is expected there).
    /// </summary>
    public (Qwen2_5_VLForConditionalGeneration Model, List<string> Missing) LoadModel(Device? device = null, ScalarType? dtype = null)
    {
        var model = new Qwen2_5_VLForConditionalGeneration(Config, device, dtype);
        var report = CheckpointLoader.Load(model, Folder);
        Assert.Empty(report.Unexpected);
        return (model, report.Missing.Concat(report.Tied.Keys).ToList());
    }

    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var a = actual.to(ScalarType.Float64, CPU);
        using var e = expected.to(ScalarType.Float64, CPU);
        using var diff = (a - e).norm();
        using var reference = e.norm();
        return diff.item<double>() / reference.item<double>();
    }

    public void Dispose() => Expected.Dispose();
}
