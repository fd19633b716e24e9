namespace FineR1.Core.Text.Tokenization;

/// <summary>A <c>tokenizer.json</c> is missing, not JSON, or lacks (or contradicts) what a byte-level BPE tokenizer needs.</summary>
public sealed class TokenizerFormatException : Exception
{
    /// <summary>The file (or stream name) the problem was found in.</summary>
    public string? FilePath { get; }

    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public TokenizerFormatException(string message, string? filePath = null, Exception? inner = null)
        : base(filePath is null ? message : $"{filePath}: {message}", inner) => FilePath = filePath;
}
