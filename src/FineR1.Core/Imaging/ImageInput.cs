using SkiaSharp;

namespace FineR1.Core.Imaging;

/// <summary>
/// An image to give the model: a file path, encoded bytes (a <see cref="Stream"/> or <c>byte[]</c>, e.g. an upload) or
/// an already decoded <see cref="SKBitmap"/> / <see cref="RgbImage"/>. Every encoded source goes through the same
/// decoder as files (<see cref="ImageDecoder"/>, with its format checks and limits). A string converts implicitly, so
/// <c>new ClassificationRequest("bird.jpg", …)</c> reads a file.
/// </summary>
public sealed class ImageInput
{
    private readonly string? _path;
    private readonly byte[]? _encoded;
    private readonly SKBitmap? _bitmap;
    private readonly RgbImage? _image;

    private ImageInput(string name, string? path = null, byte[]? encoded = null, SKBitmap? bitmap = null, RgbImage? image = null)
    {
        Name = name;
        _path = path;
        _encoded = encoded;
        _bitmap = bitmap;
        _image = image;
    }

    /// <summary>What errors call the image: the file path, or the name given to an in-memory image.</summary>
    public string Name { get; }

    /// <summary>The file path, for an image read from a file; null otherwise.</summary>
    public string? Path => _path;

    /// <summary>An image file (PNG, JPEG, WebP, GIF, BMP…), read when the image is needed.</summary>
    public static ImageInput FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ImageInput(path, path: path);
    }

    /// <summary>Encoded image bytes (the contents of an image file). The array is not copied: do not change it afterwards.</summary>
    /// <param name="encoded">The bytes.</param>
    /// <param name="name">Names the image in errors (e.g. the uploaded file's name).</param>
    public static ImageInput FromBytes(byte[] encoded, string name = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(encoded);
        return new ImageInput(name, encoded: encoded);
    }

    /// <summary>
    /// Encoded image bytes read from <paramref name="stream"/> now, to its end (the stream can be closed afterwards
    /// and the input reused).
    /// </summary>
    public static ImageInput FromStream(Stream stream, string name = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return new ImageInput(name, encoded: buffer.ToArray());
    }

    /// <summary>Reads a stream asynchronously (see <see cref="FromStream"/>).</summary>
    public static async Task<ImageInput> FromStreamAsync(Stream stream, string name = "<stream>", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return new ImageInput(name, encoded: buffer.ToArray());
    }

    /// <summary>A decoded Skia bitmap (the caller keeps ownership; it is read when the image is needed). No EXIF orientation applies.</summary>
    public static ImageInput FromBitmap(SKBitmap bitmap, string name = "<bitmap>")
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        return new ImageInput(name, bitmap: bitmap);
    }

    /// <summary>An image already in FineR1's RGB form.</summary>
    public static ImageInput FromImage(RgbImage image, string name = "<image>")
    {
        ArgumentNullException.ThrowIfNull(image);
        return new ImageInput(name, image: image);
    }

    /// <summary>A file path.</summary>
    public static implicit operator ImageInput(string path) => FromFile(path);

    /// <summary>Decodes the image to RGB.</summary>
    /// <param name="applyExifOrientation">Rotate/flip encoded images by their EXIF orientation (as HF's <c>load_image</c>).</param>
    /// <exception cref="ImageProcessingException">Missing file, empty or corrupt data, or a format Skia does not decode.</exception>
    public RgbImage Decode(bool applyExifOrientation = true)
    {
        if (_path != null) return ImageDecoder.Load(_path, applyExifOrientation);
        if (_encoded != null) return ImageDecoder.Decode(_encoded, Name, applyExifOrientation);
        if (_bitmap != null) return ImageDecoder.FromBitmap(_bitmap);
        return _image!;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
