namespace FineR1.Core.Configuration;

/// <summary>A model configuration (<c>config.json</c> or options) is missing, malformed or inconsistent.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>The file the problem was found in, when it came from a file.</summary>
    public string? FilePath { get; }

    /// <summary>Creates the exception; the message names <paramref name="filePath"/> when given.</summary>
    public ConfigurationException(string message, string? filePath = null, Exception? inner = null)
        : base(filePath is null ? message : $"{filePath}: {message}", inner) => FilePath = filePath;
}
