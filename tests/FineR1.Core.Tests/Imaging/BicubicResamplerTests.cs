using System.Text.Json;
using FineR1.Core.Imaging;

namespace FineR1.Core.Tests.Imaging;

public class BicubicResamplerTests
{
    public static TheoryData<string, int, int> PillowReferences()
    {
        var data = new TheoryData<string, int, int>();
        using var doc = JsonDocument.Parse(File.ReadAllText(ImagingFixtures.File("manifest.json")));
        foreach (var r in doc.RootElement.GetProperty("resize").EnumerateArray())
            data.Add(r.GetProperty("file").GetString()!, r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32());
        return data;
    }

    // References: Pillow 9.4 Image.resize(BICUBIC, reducing_gap=None) of src_61x47.png (tests/Fixtures/imaging/generate.py).
    [Theory, Trait("Category", "Parity")]
    [MemberData(nameof(PillowReferences))]
    public void Pillow_mode_is_bit_exact_with_Pillow(string file, int width, int height)
    {
        var source = ImagingFixtures.Load("src_61x47.png");
        var expected = ImagingFixtures.Load(file);
        var actual = BicubicResampler.Resize(source, width, height, ResampleCompatibility.Pillow);
        Assert.Equal(0, ImagingFixtures.MaxDiff(expected, actual));
    }

    [Theory]
    [MemberData(nameof(PillowReferences))]
    public void Torchvision_mode_stays_within_one_level_of_Pillow(string file, int width, int height)
    {
        var actual = BicubicResampler.Resize(ImagingFixtures.Load("src_61x47.png"), width, height, ResampleCompatibility.Torchvision);
        Assert.InRange(ImagingFixtures.MaxDiff(ImagingFixtures.Load(file), actual), 0, 1);
    }

    [Fact]
    public void Same_size_returns_the_input()
    {
        var img = ImagingFixtures.Load("src_61x47.png");
        Assert.Same(img, BicubicResampler.Resize(img, 61, 47));
    }

    [Fact]
    public void A_constant_image_stays_constant_when_scaled_up_and_down()
    {
        var flat = new RgbImage(9, 7, Enumerable.Repeat((byte)200, 9 * 7 * 3).ToArray());
        foreach (var mode in Enum.GetValues<ResampleCompatibility>())
            foreach (var (w, h) in new[] { (28, 28), (3, 2), (50, 5) })
                Assert.All(BicubicResampler.Resize(flat, w, h, mode).Pixels, p => Assert.Equal(200, p));
    }
}
