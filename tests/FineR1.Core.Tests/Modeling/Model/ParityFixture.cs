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

    /// <summary>
    /// The fixture images (indices into <c>expected.json</c>'s <c>images</c>) that a batch row's vision blocks hold, in
    /// prompt order. Fixtures may name them per row in their batch file (<c>images_per_row</c>: a list of name lists, or
    /// <c>image_for_row0</c>: one name for row 0); otherwise each vision block is matched, in order, with the next
    /// fixture image whose merged token count equals the block's number of image tokens.
    /// </summary>
    /// <example>tiny-a: row 0 <c>[10, 11, 12, &lt;vs&gt;, 12 × &lt;img&gt;, &lt;ve&gt;, 20, 21]</c> with
    /// <c>image_for_row0: "image0"</c> → <c>[0]</c>; row 1 (text only) → <c>[]</c>.</example>
    public static int[] ImagesOfRow(Qwen2_5_VLConfig config, JsonElement fixtureJson, JsonElement batchJson, long[] prompt, int row)
    {
        var blocks = VisionBlockSizes(config, prompt);
        if (blocks.Count == 0) return [];
        int Index(string name) => int.Parse(name["image".Length..]);
        if (batchJson.TryGetProperty("images_per_row", out var perRow))
            return [.. perRow[row].EnumerateArray().Select(e => Index(e.GetString()!))];
        if (row == 0 && batchJson.TryGetProperty("image_for_row0", out var single) && blocks.Count == 1)
            return [Index(single.GetString()!)];
        var images = fixtureJson.GetProperty("images").EnumerateArray().ToArray();
        long merge = config.Vision.SpatialMergeSize * config.Vision.SpatialMergeSize;
        var result = new List<int>();
        int next = 0;
        foreach (var size in blocks)
        {
            while (next < images.Length && TokenCount(images[next]) / merge != size) next++;
            if (next == images.Length) throw new InvalidOperationException($"row {row}: no fixture image has {size} image tokens.");
            result.Add(next++);
        }
        return [.. result];

        static long TokenCount(JsonElement image) => image.GetProperty("grid_thw").EnumerateArray().Aggregate(1L, (a, e) => a * e.GetInt64());
    }

    /// <summary>Image tokens of each vision block of <paramref name="prompt"/>, in order.</summary>
    public static List<long> VisionBlockSizes(Qwen2_5_VLConfig config, long[] prompt)
    {
        var sizes = new List<long>();
        for (int i = 0; i < prompt.Length; i++)
        {
            if (prompt[i] != config.VisionStartTokenId) continue;
            long n = 0;
            while (i + 1 + n < prompt.Length && prompt[i + 1 + n] == config.ImageTokenId) n++;
            sizes.Add(n);
        }
        return sizes;
    }

    /// <summary>Grid rows <c>[k, 3]</c> and pixel values of the listed fixture images, concatenated in that order.</summary>
    public (Tensor Grid, Tensor PixelValues) Images(IReadOnlyList<int> indices)
    {
        var rows = indices.SelectMany(i => Json.GetProperty("images")[i].GetProperty("grid_thw").EnumerateArray().Select(x => x.GetInt64())).ToArray();
        var parts = indices.Select(i => Tensor($"image{i}_pixel_values")).ToArray();
        var pixels = torch.cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return (tensor(rows, [indices.Count, 3], ScalarType.Int64), pixels);
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
