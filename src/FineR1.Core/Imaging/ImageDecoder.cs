using FineR1.Core.IO;
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
/// <item>Hostile input is refused before allocation (<see cref="ImageLimits"/>): only regular files up to
/// <see cref="ImageLimits.MaxFileBytes"/> are read, and the pixel count is taken from the header, before any pixel
/// buffer exists. Every failure is an <see cref="ImageProcessingException"/> naming the file.</item>
/// </list>
/// </remarks>
public static class ImageDecoder
{
    /// <summary>Reads and decodes an image file.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="applyExifOrientation">Rotate/flip by the EXIF orientation, as HF's <c>load_image</c> does.</param>
    /// <param name="limits">Size limits (default <see cref="ImageLimits.Default"/>).</param>
    /// <exception cref="ImageProcessingException">Missing, empty, not a regular file, too large, unreadable or corrupt.</exception>
    public static RgbImage Load(string path, bool applyExifOrientation = true, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        limits ??= ImageLimits.Default;
        var bytes = InputFile.ReadAllBytes(path, limits.MaxFileBytes, message => new ImageProcessingException(message, path));
        return Decode(bytes, path, applyExifOrientation, limits);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is an image within <paramref name="limits"/> and returns its size, reading
    /// the file and the header only (no pixel is decoded): for refusing bad input before a long job starts.
    /// </summary>
    /// <exception cref="ImageProcessingException">Missing, not a regular file, too large, or not a decodable image.</exception>
    public static (int Width, int Height) ReadSize(string path, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        limits ??= ImageLimits.Default;
        var bytes = InputFile.ReadAllBytes(path, limits.MaxFileBytes, message => new ImageProcessingException(message, path));
        using var codec = OpenCodec(bytes, path, limits);
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>Creates the codec (header only) and checks the reported size against <paramref name="limits"/>.</summary>
    private static SKCodec OpenCodec(ReadOnlySpan<byte> encoded, string source, ImageLimits limits)
    {
        if (encoded.IsEmpty) throw new ImageProcessingException("the file is empty (0 bytes).", source);
        if (encoded.Length > limits.MaxFileBytes)
            throw new ImageProcessingException($"{encoded.Length:N0} bytes, above the limit of {limits.MaxFileBytes:N0} (ImageLimits.MaxFileBytes).", source);
        // The codec takes ownership of the stream it reads from; creating it reads only the header.
        var codec = SKCodec.Create(new MemoryStream(encoded.ToArray(), writable: false), out var created);
        if (codec is null)
            throw new ImageProcessingException($"not a decodable image (Skia: {created}; first bytes {Hex(encoded)}).", source);
        var size = codec.Info;
        long pixels = (long)size.Width * size.Height;
        string? problem = size.Width <= 0 || size.Height <= 0 ? $"image reports an invalid size {size.Width}x{size.Height}."
            : pixels > limits.MaxPixels ? $"image is {size.Width}x{size.Height} = {pixels:N0} pixels, above the limit of {limits.MaxPixels:N0} " +
                                          "(ImageLimits.MaxPixels; a possible decompression bomb). Nothing was decoded."
            : null;
        if (problem is null) return codec;
        codec.Dispose();
        throw new ImageProcessingException(problem, source);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="ImageProcessingException">Empty, too large or corrupt data, or a format Skia does not decode.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string? sourceName = null, bool applyExifOrientation = true, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        var source = sourceName ?? "<memory>";
        using var codec = OpenCodec(encoded, source, limits);
        var size = codec.Info;
        // Unpremultiplied RGBA, no colour space: raw stored values, like Pillow.
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (info.BytesSize64 > Array.MaxLength)
            throw new ImageProcessingException($"image is {size.Width}x{size.Height}, too large for one pixel buffer.", source);
        byte[] rgba;
        try { rgba = new byte[info.BytesSize64]; }
        catch (OutOfMemoryException e)
        {
            throw new ImageProcessingException($"not enough memory to decode {size.Width}x{size.Height} pixels (lower ImageLimits.MaxPixels).", source, e);
        }
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new ImageProcessingException(result == SKCodecResult.IncompleteInput
                ? "image data is truncated (incomplete input)."
                : $"corrupt image data (Skia: {result}).", source);
        var rgb = DropAlpha(rgba, size.Width, size.Height, info.RowBytes);
        return applyExifOrientation ? Orientation.Apply(rgb, codec.EncodedOrigin) : rgb;
    }

    /// <summary>Decodes from a stream (read to the end, at most <see cref="ImageLimits.MaxFileBytes"/> bytes).</summary>
    /// <exception cref="ImageProcessingException">The stream is longer than the limit, or see <see cref="Decode(ReadOnlySpan{byte}, string?, bool, ImageLimits?)"/>.</exception>
    public static RgbImage Decode(Stream stream, string? sourceName = null, bool applyExifOrientation = true, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= ImageLimits.Default;
        using var buffer = new MemoryStream();
        InputFile.CopyAtMost(stream, buffer, limits.MaxFileBytes, message => new ImageProcessingException($"the stream is {message} (ImageLimits.MaxFileBytes)", sourceName ?? "<memory>"));
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), sourceName, applyExifOrientation, limits);
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
