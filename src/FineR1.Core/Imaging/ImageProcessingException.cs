namespace FineR1.Core.Imaging;

/// <summary>
/// An image could not be read or preprocessed: missing, empty, corrupt or unsupported file, or a shape the Qwen2-VL
/// processor rejects (aspect ratio above 200). The message names the file (or source) and the problem.
/// </summary>
public sealed class ImageProcessingException : Exception
{
    /// <summary>The file (or caller-given source name) the problem was found in; <c>null</c> for in-memory input without a name.</summary>
    public string? FilePath { get; }

    /// <summary>Creates the exception; the message starts with <paramref name="source"/> when given.</summary>
    public ImageProcessingException(string message, string? source = null, Exception? inner = null)
        : base(source is null ? message : $"{source}: {message}", inner) => FilePath = source;
}
