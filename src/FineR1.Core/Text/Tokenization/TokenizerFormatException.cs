namespace FineR1.Core.Text.Tokenization;

/// <summary>A <c>tokenizer.json</c> is missing, not JSON, or lacks (or contradicts) what a byte-level BPE tokenizer needs.</summary>
public sealed class TokenizerFormatException : FineR1InputException
{
    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public TokenizerFormatException(string message, string? filePath = null, Exception? inner = null)
        : base(message, filePath, inner) { }
}
