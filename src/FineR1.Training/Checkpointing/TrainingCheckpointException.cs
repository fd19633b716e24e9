namespace FineR1.Training.Checkpointing;

/// <summary>A training checkpoint is missing, incomplete or does not match the run that tries to resume from it.</summary>
public sealed class TrainingCheckpointException : Exception
{
    /// <summary>The checkpoint folder or file, when known.</summary>
    public string? CheckpointPath { get; }

    /// <summary>Creates the exception; the message starts with <paramref name="path"/> when given.</summary>
    public TrainingCheckpointException(string message, string? path = null, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner)
    {
        CheckpointPath = path;
    }
}
