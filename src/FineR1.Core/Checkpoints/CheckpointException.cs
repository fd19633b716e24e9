namespace FineR1.Core.Checkpoints;

/// <summary>A checkpoint file or folder is missing, truncated, corrupt, or disagrees with the model configuration.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>The file (or folder) the problem was found in.</summary>
    public string? FilePath { get; }

    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public CheckpointException(string message, string? filePath = null, Exception? inner = null)
        : base(filePath is null ? message : $"{filePath}: {message}", inner) => FilePath = filePath;
}
