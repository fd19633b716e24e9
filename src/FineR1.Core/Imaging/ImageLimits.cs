namespace FineR1.Core.Imaging;

/// <summary>
/// What <see cref="ImageDecoder"/> accepts before it allocates anything: the file size, and the pixel count read from
/// the image header. The pixel default is Pillow's: <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485) warns and twice that
/// (178,956,970, e.g. 13,377 × 13,377) raises <c>DecompressionBombError</c>; here it is refused. Decoding an image at
/// the limit needs about 1.3 GB (RGBA plus RGB copies), so lower it on small machines.
/// </summary>
/// <example>
/// <code>
/// ImageLimits.Default = ImageLimits.Default with { MaxPixels = 50_000_000 };   // process-wide, like Pillow's setting
/// var image = ImageDecoder.Load("bird.jpg", limits: new ImageLimits { MaxPixels = 1_000_000 });   // one call
/// </code>
/// </example>
public sealed record ImageLimits
{
    /// <summary>Largest width × height accepted (default 178,956,970, Pillow's error threshold).</summary>
    public long MaxPixels { get; init; } = 178_956_970;

    /// <summary>Largest file accepted, in bytes (default 256 MiB; an uncompressed 178 MP image is larger, a compressed one is not).</summary>
    public long MaxFileBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>The limits used when a call passes none; settable, process-wide.</summary>
    public static ImageLimits Default { get; set; } = new();
}
