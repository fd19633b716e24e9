using FineR1.Core;

namespace FineR1.Training.Data;

/// <summary>A dataset file or folder is malformed; the message names the file and, where known, the record.</summary>
public sealed class DatasetException : FineR1InputException
{
    /// <summary>Zero-based index of the offending record (or line), when the problem is in one record.</summary>
    public int? RecordIndex { get; }

    /// <summary>Creates the exception; the message names <paramref name="filePath"/> and <paramref name="recordIndex"/>.</summary>
    public DatasetException(string message, string? filePath = null, int? recordIndex = null, Exception? inner = null)
        : base(Format(message, filePath, recordIndex), filePath, inner, messageIsFormatted: true)
    {
        RecordIndex = recordIndex;
    }

    private static string Format(string message, string? file, int? index) =>
        (file, index) switch
        {
            (null, null) => message,
            (_, null) => $"{file}: {message}",
            (null, _) => $"record {index}: {message}",
            _ => $"{file}: record {index}: {message}",
        };
}
