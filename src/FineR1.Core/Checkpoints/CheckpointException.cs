namespace FineR1.Core.Checkpoints;

/// <summary>A checkpoint file or folder is missing, truncated, corrupt, or disagrees with the model configuration.</summary>
public sealed class CheckpointException : FineR1InputException
{
    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public CheckpointException(string message, string? filePath = null, Exception? inner = null)
        : base(message, filePath, inner) { }
}
