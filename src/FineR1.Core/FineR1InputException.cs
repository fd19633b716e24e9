namespace FineR1.Core;

/// <summary>
/// Base of the exceptions FineR1 throws for bad input: a file or record that is missing, malformed, hostile or too
/// large (config.json, checkpoints, tokenizer.json, images, datasets, eval files). The message names the file (and the
/// field or record, where there is one); catch this type to tell a user's mistake from a failure of the program.
/// The command-line apps exit with code 2 for it (docs/reliability.md).
/// </summary>
public abstract class FineR1InputException : Exception
{
    /// <summary>The file (or folder, or caller-given source name) the problem was found in; null when there is none.</summary>
    public string? FilePath { get; }

    /// <summary>Creates the exception; the message starts with <paramref name="filePath"/> when given.</summary>
    protected FineR1InputException(string message, string? filePath, Exception? inner)
        : base(filePath is null ? message : $"{filePath}: {message}", inner) => FilePath = filePath;

    /// <summary>For subclasses that format the whole message themselves.</summary>
    protected FineR1InputException(string message, string? filePath, Exception? inner, bool messageIsFormatted)
        : base(message, inner) => FilePath = filePath;
}
