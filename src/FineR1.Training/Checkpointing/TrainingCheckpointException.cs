using FineR1.Core;

namespace FineR1.Training.Checkpointing;

/// <summary>A training checkpoint is missing, incomplete or does not match the run that tries to resume from it.</summary>
public sealed class TrainingCheckpointException : FineR1InputException
{
    /// <summary>The checkpoint folder or file, when known.</summary>
    public string? CheckpointPath => FilePath;

    /// <summary>Creates the exception; the message starts with <paramref name="path"/> when given.</summary>
    public TrainingCheckpointException(string message, string? path = null, Exception? inner = null)
        : base(message, path, inner) { }
}
