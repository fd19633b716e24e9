namespace FineR1.Core.Imaging;

/// <summary>
/// An image could not be read or preprocessed: missing, empty, not a regular file, too large (bytes or pixels),
/// corrupt or unsupported, or a shape the Qwen2-VL processor rejects (aspect ratio above 200). The message names the
/// file (or source) and the problem.
/// </summary>
public sealed class ImageProcessingException : FineR1InputException
{
    /// <summary>Creates the exception; the message starts with <paramref name="source"/> when given.</summary>
    public ImageProcessingException(string message, string? source = null, Exception? inner = null)
        : base(message, source, inner) { }
}
