namespace FineR1.Core.Imaging;

/// <summary>
/// An 8-bit RGB image in row-major, channel-interleaved order (<c>[height, width, 3]</c>, like a NumPy array of
/// <c>PIL.Image.convert("RGB")</c>). This is the form every preprocessing step works on.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Width in pixels.</summary>
    public int Width { get; }
    /// <summary>Height in pixels.</summary>
    public int Height { get; }
    /// <summary>Pixels, <c>(y * Width + x) * 3 + channel</c>, channels R, G, B.</summary>
    public byte[] Pixels { get; }

    /// <summary>Wraps <paramref name="pixels"/> (not copied): <c>height * width * 3</c> bytes, RGB interleaved, rows top to bottom.</summary>
    /// <exception cref="ArgumentException">Non-positive size or a buffer of the wrong length.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size must be positive, got {width}x{height}.");
        if (pixels.LongLength != (long)width * height * 3)
            throw new ArgumentException($"a {width}x{height} RGB image needs {(long)width * height * 3} bytes, got {pixels.LongLength}.", nameof(pixels));
        Width = width; Height = height; Pixels = pixels;
    }

    /// <summary>Copies an RGB buffer with a row stride (bytes per row, at least <c>width * 3</c>).</summary>
    public static RgbImage FromRgb(ReadOnlySpan<byte> rgb, int width, int height, int? rowStride = null)
    {
        int stride = rowStride ?? width * 3;
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size must be positive, got {width}x{height}.");
        if (stride < width * 3) throw new ArgumentException($"row stride {stride} is smaller than width * 3 = {width * 3}.", nameof(rowStride));
        if (rgb.Length < (long)stride * (height - 1) + width * 3)
            throw new ArgumentException($"buffer of {rgb.Length} bytes is too small for {width}x{height} RGB with stride {stride}.", nameof(rgb));
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++) rgb.Slice(y * stride, width * 3).CopyTo(pixels.AsSpan(y * width * 3, width * 3));
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The value of channel <paramref name="c"/> at (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public byte this[int y, int x, int c] => Pixels[(y * Width + x) * 3 + c];
}
