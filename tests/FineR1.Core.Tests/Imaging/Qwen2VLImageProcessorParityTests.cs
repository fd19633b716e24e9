using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Imaging;
using TorchSharp;

namespace FineR1.Core.Tests.Imaging;

/// <summary>
/// pixel_values against HF transformers 5.x <c>Qwen2VLImageProcessor</c> for every image of every fixture folder
/// (tests/Fixtures/qwen2_5_vl/* plus folders in FINER1_PARITY_FIXTURES).
/// </summary>
public class Qwen2VLImageProcessorParityTests
{
    private readonly ITestOutputHelper _output = TestContext.Current.TestOutputHelper!;

    public static TheoryData<string, int> FixtureImages()
    {
        var data = new TheoryData<string, int>();
        var folders = Directory.GetDirectories(TestPaths.Fixture("qwen2_5_vl"))
            .Concat(TestPaths.FromEnvironment("FINER1_PARITY_FIXTURES"))
            .Where(f => File.Exists(Path.Combine(f, "expected.json")));
        foreach (var folder in folders)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
            int n = doc.RootElement.GetProperty("images").GetArrayLength();
            for (int i = 0; i < n; i++) data.Add(folder, i);
        }
        return data;
    }

    [Theory, Trait("Category", "Parity")]
    [MemberData(nameof(FixtureImages))]
    public void Pixel_values_match_HF(string folder, int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var meta = doc.RootElement.GetProperty("images")[index];
        string file = Path.Combine(folder, meta.GetProperty("file").GetString()!);
        var processor = new Qwen2VLImageProcessor(new()
        {
            MinPixels = meta.GetProperty("min_pixels").GetInt64(),
            MaxPixels = meta.GetProperty("max_pixels").GetInt64(),
        });
        using var result = processor.Process(file);
        using var expectedFile = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var expected = expectedFile.Read($"image{index}_pixel_values");

        var grid = meta.GetProperty("grid_thw").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(new VisionGrid(grid[0], grid[1], grid[2]), result.Grids[0]);
        Assert.Equal(expected.shape, result.PixelValues.shape);

        using var diff = (result.PixelValues - expected).abs();
        double max = diff.max().item<float>(), mean = diff.mean().item<float>();
        int width = meta.GetProperty("width").GetInt32(), height = meta.GetProperty("height").GetInt32();
        bool resized = (height, width) != (grid[1] * 14, grid[2] * 14);
        _output.WriteLine($"{Path.GetFileName(folder)}/{Path.GetFileName(file)} {width}x{height} -> grid {string.Join("x", grid)}" +
                          $" (resized: {resized}): mean |diff| = {mean:E3}, max |diff| = {max:E3} (normalized units)");
        if (!resized) Assert.InRange(max, 0, 1e-5);
        else
        {
            Assert.InRange(mean, 0, 0.01);
            Assert.InRange(max, 0, 0.1);
        }
    }

    [Theory, Trait("Category", "Parity")]
    [MemberData(nameof(FixtureImages))]
    public void Pillow_mode_stays_within_one_level_of_HF(string folder, int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var meta = doc.RootElement.GetProperty("images")[index];
        var processor = new Qwen2VLImageProcessor(new()
        {
            MinPixels = meta.GetProperty("min_pixels").GetInt64(),
            MaxPixels = meta.GetProperty("max_pixels").GetInt64(),
            Compatibility = ResampleCompatibility.Pillow,
        });
        using var result = processor.Process(Path.Combine(folder, meta.GetProperty("file").GetString()!));
        using var expectedFile = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var expected = expectedFile.Read($"image{index}_pixel_values");
        using var diff = (result.PixelValues - expected).abs();
        double max = diff.max().item<float>(), mean = diff.mean().item<float>();
        _output.WriteLine($"Pillow mode, image{index}: mean |diff| = {mean:E3}, max |diff| = {max:E3}");
        // one 8-bit level is 1/255/std <= 0.0151 normalized units
        Assert.InRange(max, 0, 0.016);
    }
}
