namespace FineR1.Core.Configuration;

/// <summary>A model configuration (<c>config.json</c> or options) is missing, malformed or inconsistent.</summary>
public sealed class ConfigurationException : FineR1InputException
{
    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public ConfigurationException(string message, string? filePath = null, Exception? inner = null)
        : base(message, filePath, inner) { }
}
