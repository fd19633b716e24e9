using FineR1.Core.Imaging;
using TorchSharp;

namespace FineR1.Core.Tests.Imaging;

public class Qwen2VLImageProcessorTests
{
    [Fact]
    public void Patch_rows_follow_HF_merge_block_order_and_duplicate_the_frame()
    {
        // 56x84 image (h x w) where every pixel encodes its own coordinates; no resize (multiples of 28).
        int h = 56, w = 84;
        var px = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) { px[(y * w + x) * 3] = (byte)y; px[(y * w + x) * 3 + 1] = (byte)x; px[(y * w + x) * 3 + 2] = 7; }
        var processor = new Qwen2VLImageProcessor(new() { ImageMean = [0, 0, 0], ImageStd = [1, 1, 1], RescaleFactor = 1 });
        var (values, grid) = processor.Patchify(new RgbImage(w, h, px));
        Assert.Equal(new VisionGrid(1, 4, 6), grid);
        Assert.Equal(6, grid.TokenCount());
        // Row r: block b = r / 4 (raster over 2 x 3 blocks), k = r % 4 inside it; column = c*392 + t*196 + py*14 + px.
        for (int r = 0; r < 24; r++)
        {
            int b = r / 4, k = r % 4;
            int y0 = ((b / 3) * 2 + k / 2) * 14, x0 = ((b % 3) * 2 + k % 2) * 14;
            for (int t = 0; t < 2; t++)
                for (int py = 0; py < 14; py += 13)
                    for (int pxx = 0; pxx < 14; pxx += 5)
                    {
                        int col = t * 196 + py * 14 + pxx;
                        Assert.Equal(y0 + py, values[r * 1176 + col]);
                        Assert.Equal(x0 + pxx, values[r * 1176 + 392 + col]);
                        Assert.Equal(7, values[r * 1176 + 784 + col]);
                    }
        }
    }

    [Fact]
    public void Batches_concatenate_rows_and_report_grids_and_token_counts()
    {
        var processor = new Qwen2VLImageProcessor(new() { MinPixels = 3136, MaxPixels = 50176 });
        using var result = processor.Process(ImagingFixtures.File("src_61x47.png"), TestPaths.Fixture("qwen2_5_vl", "tiny-a", "image0.png"));
        Assert.Equal([new VisionGrid(1, 4, 4), new VisionGrid(1, 6, 8)], result.Grids);
        Assert.Equal(new long[] { 16 + 48, 1176 }, result.PixelValues.shape);
        Assert.Equal(torch.ScalarType.Float32, result.PixelValues.dtype);
        Assert.Equal(new long[] { 1, 4, 4, 1, 6, 8 }, result.ImageGridThw.data<long>().ToArray());
        Assert.Equal([4, 12], result.TokenCounts);
    }

    [Fact]
    public void To_casts_the_pixels_and_keeps_the_grid()
    {
        using var result = new Qwen2VLImageProcessor().Process(ImagingFixtures.Load("src_61x47.png"));
        result.To(torch.CPU, torch.ScalarType.BFloat16);
        Assert.Equal(torch.ScalarType.BFloat16, result.PixelValues.dtype);
        Assert.Equal(torch.ScalarType.Int64, result.ImageGridThw.dtype);
    }

    [Fact]
    public void Too_wide_image_throws_naming_the_file()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("strip.png");
        using (var bmp = new SkiaSharp.SKBitmap(402, 2))
        using (var image = SkiaSharp.SKImage.FromBitmap(bmp))
        using (var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100))
            File.WriteAllBytes(path, png.ToArray());
        var e = Assert.Throws<ImageProcessingException>(() => new Qwen2VLImageProcessor().Process(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("aspect ratio", e.Message);
    }

    [Fact]
    public void Tiny_image_is_scaled_up_to_min_pixels()
    {
        var tiny = new RgbImage(10, 10, new byte[300]);
        var (values, grid) = new Qwen2VLImageProcessor().Patchify(tiny);
        Assert.Equal(new VisionGrid(1, 4, 4), grid);
        Assert.Equal(16 * 1176, values.Length);
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new Qwen2VLImageProcessor(new() { MinPixels = 10, MaxPixels = 5 }));
        Assert.Throws<ArgumentException>(() => new Qwen2VLImageProcessor(new() { ImageStd = [1, 0, 1] }));
    }
}
