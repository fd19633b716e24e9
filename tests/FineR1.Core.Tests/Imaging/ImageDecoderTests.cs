using FineR1.Core.Imaging;
using SkiaSharp;

namespace FineR1.Core.Tests.Imaging;

public class ImageDecoderTests
{
    private readonly ITestOutputHelper _output = TestContext.Current.TestOutputHelper!;

    // Lossless formats: identical to Pillow's Image.open(...).convert("RGB").
    [Theory, Trait("Category", "Parity")]
    [InlineData("rgba_40x30.png", "rgba_40x30.expected.png")]          // alpha dropped, colour under alpha 0 kept
    [InlineData("gray_33x21.png", "gray_33x21.expected.png")]
    [InlineData("palette_32x24.png", "palette_32x24.expected.png")]
    [InlineData("lossless_36x20.webp", "lossless_36x20.webp.expected.png")]
    public void Lossless_formats_decode_exactly_like_Pillow(string file, string expected)
    {
        Assert.Equal(0, ImagingFixtures.MaxDiff(ImagingFixtures.Load(expected), ImagingFixtures.Load(file)));
    }

    // JPEG: both use libjpeg(-turbo) but Skia and Pillow may pick different IDCT/upsampling; measured bound.
    [Theory, Trait("Category", "Parity")]
    [InlineData("rgb_64x48.jpg", "rgb_64x48.jpg.expected.png", 2)]
    [InlineData("cmyk_32x32.jpg", "cmyk_32x32.jpg.expected.png", 2)]
    public void Jpeg_decodes_within_a_small_bound_of_Pillow(string file, string expected, int bound)
    {
        int diff = ImagingFixtures.MaxDiff(ImagingFixtures.Load(expected), ImagingFixtures.Load(file));
        _output.WriteLine($"{file}: max |Skia - Pillow| = {diff} levels");
        Assert.InRange(diff, 0, bound);
    }

    [Theory, Trait("Category", "Parity")]
    [InlineData(1)][InlineData(2)][InlineData(3)][InlineData(4)]
    [InlineData(5)][InlineData(6)][InlineData(7)][InlineData(8)]
    public void Exif_orientation_matches_Pillow_exif_transpose(int orientation)
    {
        var actual = ImagingFixtures.Load($"exif{orientation}_40x24.jpg");
        var expected = ImagingFixtures.Load($"exif{orientation}_40x24.expected.png");
        Assert.Equal(orientation >= 5 ? (24, 40) : (40, 24), (actual.Width, actual.Height));
        Assert.InRange(ImagingFixtures.MaxDiff(expected, actual), 0, 2);
    }

    [Fact]
    public void Exif_orientation_can_be_ignored()
    {
        var raw = ImageDecoder.Load(ImagingFixtures.File("exif6_40x24.jpg"), applyExifOrientation: false);
        Assert.Equal((40, 24), (raw.Width, raw.Height));
    }

    [Fact]
    public void Missing_file_throws_naming_it()
    {
        var path = ImagingFixtures.File("does-not-exist.png");
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Empty_file_throws_naming_it()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("empty.jpg");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData("truncated.png")]
    [InlineData("not_an_image.png")]
    public void Corrupt_data_throws_naming_the_file(string name)
    {
        var path = ImagingFixtures.File(name);
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(path));
        Assert.Equal(path, e.FilePath);
        _output.WriteLine(e.Message);
    }

    [Fact]
    public void Truncated_jpeg_body_throws()
    {
        var bytes = File.ReadAllBytes(ImagingFixtures.File("rgb_64x48.jpg"));
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Decode(bytes.AsSpan(0, bytes.Length / 2), "half.jpg"));
        Assert.Contains("half.jpg", e.Message);
    }

    [Fact]
    public void Bitmap_and_raw_buffer_inputs_give_the_same_pixels()
    {
        var decoded = ImagingFixtures.Load("rgba_40x30.png");
        using var bitmap = SKBitmap.Decode(ImagingFixtures.File("rgba_40x30.png"), new SKImageInfo(40, 30, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Assert.Equal(decoded.Pixels, ImageDecoder.FromBitmap(bitmap).Pixels);

        var padded = new byte[30 * 128];
        for (int y = 0; y < 30; y++) decoded.Pixels.AsSpan(y * 120, 120).CopyTo(padded.AsSpan(y * 128));
        Assert.Equal(decoded.Pixels, RgbImage.FromRgb(padded, 40, 30, rowStride: 128).Pixels);
    }

    [Fact]
    public void Raw_buffer_of_the_wrong_size_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new RgbImage(4, 4, new byte[47]));
        Assert.Throws<ArgumentException>(() => RgbImage.FromRgb(new byte[10], 4, 4));
    }
}
