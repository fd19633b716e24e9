using SkiaSharp;

namespace FineR1.Core.Imaging;

/// <summary>
/// Decodes image files (PNG, JPEG, WebP, GIF, BMP, ICO, WBMP, HEIF/AVIF where the native Skia build has them) with
/// SkiaSharp into <see cref="RgbImage"/>, the way HF sees a PIL image after <c>ImageOps.exif_transpose</c> (what
/// <c>transformers.image_utils.load_image</c> does) and <c>convert("RGB")</c> (what the Qwen2-VL processor does).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Alpha is dropped, not blended: <c>convert("RGB")</c> keeps the stored colour of transparent pixels, so the
/// decode is unpremultiplied.</item>
/// <item>Gray and palette images are expanded to RGB; CMYK JPEGs are converted by libjpeg/Skia (Adobe inverted CMYK),
/// within ±1 of Pillow's <c>convert("RGB")</c>.</item>
/// <item>No colour management: embedded ICC profiles are ignored, as Pillow ignores them.</item>
/// <item>EXIF orientation is applied by default (lossless pixel permutation).</item>
/// </list>
/// </remarks>
public static class ImageDecoder
{
    /// <summary>Reads and decodes an image file.</summary>
    /// <exception cref="ImageProcessingException">Missing, empty, unreadable or corrupt file.</exception>
    public static RgbImage Load(string path, bool applyExifOrientation = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new ImageProcessingException("file not found.", path);
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageProcessingException($"cannot read the file ({e.Message}).", path, e);
        }
        return Decode(bytes, path, applyExifOrientation);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="ImageProcessingException">Empty or corrupt data, or a format Skia does not decode.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string? sourceName = null, bool applyExifOrientation = true)
    {
        if (encoded.IsEmpty) throw new ImageProcessingException("the file is empty (0 bytes).", sourceName ?? "<memory>");
        // The codec takes ownership of the stream it reads from.
        using var codec = SKCodec.Create(new MemoryStream(encoded.ToArray(), writable: false), out var created);
        if (codec is null)
            throw new ImageProcessingException($"not a decodable image (Skia: {created}; first bytes {Hex(encoded)}).", sourceName ?? "<memory>");
        var size = codec.Info;
        if (size.Width <= 0 || size.Height <= 0)
            throw new ImageProcessingException($"image reports an invalid size {size.Width}x{size.Height}.", sourceName ?? "<memory>");
        // Unpremultiplied RGBA, no colour space: raw stored values, like Pillow.
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new ImageProcessingException(result == SKCodecResult.IncompleteInput
                ? "image data is truncated (incomplete input)."
                : $"corrupt image data (Skia: {result}).", sourceName ?? "<memory>");
        var rgb = DropAlpha(rgba, size.Width, size.Height, info.RowBytes);
        return applyExifOrientation ? Orientation.Apply(rgb, codec.EncodedOrigin) : rgb;
    }

    /// <summary>Decodes from a stream (read to the end).</summary>
    public static RgbImage Decode(Stream stream, string? sourceName = null, bool applyExifOrientation = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), sourceName, applyExifOrientation);
    }

    /// <summary>
    /// Converts a decoded Skia bitmap to RGB: any colour type is first converted to unpremultiplied RGBA by Skia, then
    /// alpha is dropped (as <c>convert("RGB")</c>). No orientation is applied (a bitmap has none).
    /// </summary>
    public static RgbImage FromBitmap(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (bitmap.Width <= 0 || bitmap.Height <= 0) throw new ArgumentException("bitmap is empty.", nameof(bitmap));
        var info = new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, bitmap.ColorSpace);
        var rgba = new byte[info.BytesSize];
        bool ok;
        using var pixmap = bitmap.PeekPixels();
        unsafe
        {
            fixed (byte* p = rgba) ok = pixmap is not null && pixmap.ReadPixels(info, (IntPtr)p, info.RowBytes, 0, 0);
        }
        if (!ok) throw new ArgumentException($"Skia cannot convert a {bitmap.ColorType}/{bitmap.AlphaType} bitmap to RGBA.", nameof(bitmap));
        return DropAlpha(rgba, bitmap.Width, bitmap.Height, info.RowBytes);
    }

    private static RgbImage DropAlpha(byte[] rgba, int width, int height, int rowBytes)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int s = y * rowBytes, d = y * width * 3;
            for (int x = 0; x < width; x++, s += 4, d += 3)
            {
                rgb[d] = rgba[s]; rgb[d + 1] = rgba[s + 1]; rgb[d + 2] = rgba[s + 2];
            }
        }
        return new RgbImage(width, height, rgb);
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]);
}
