using SkiaSharp;

namespace FineR1.Core.Imaging;

/// <summary>EXIF orientation (tag 0x0112) as a lossless pixel permutation, matching Pillow's <c>ImageOps.exif_transpose</c>.</summary>
public static class Orientation
{
    /// <summary>
    /// Returns the image as it should be displayed. Output pixel (x, y) reads the stored pixel given below (W, H: stored
    /// size): 2 mirror (W−1−x, y); 3 rotate 180 (W−1−x, H−1−y); 4 flip (x, H−1−y); 5 transpose (y, x);
    /// 6 rotate 90° clockwise (y, H−1−x); 7 transverse (W−1−y, H−1−x); 8 rotate 90° counter-clockwise (W−1−y, x).
    /// Orientations 5–8 swap width and height.
    /// </summary>
    public static RgbImage Apply(RgbImage image, SKEncodedOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width, h = image.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        if (origin == SKEncodedOrigin.TopLeft || (int)origin < 1 || (int)origin > 8) return image;
        int ow = swap ? h : w, oh = swap ? w : h;
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x), // LeftBottom
                };
                int s = (sy * w + sx) * 3, d = (y * ow + x) * 3;
                dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2];
            }
        return new RgbImage(ow, oh, dst);
    }
}
