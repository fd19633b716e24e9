namespace FineR1.Inference.Classification;

/// <summary>A classification request that cannot be run; the message names the problem (and the image file, if any).</summary>
public sealed class ClassificationRequestException : ArgumentException
{
    /// <summary>The request's image path.</summary>
    public string? ImagePath { get; }

    /// <summary>Creates the exception.</summary>
    public ClassificationRequestException(string message, string? imagePath, Exception? inner = null)
        : base(imagePath is null ? message : $"{imagePath}: {message}", inner) => ImagePath = imagePath;
}
