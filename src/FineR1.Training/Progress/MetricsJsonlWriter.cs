using System.Text;
using System.Text.Json;

namespace FineR1.Training.Progress;

/// <summary>
/// Appends one JSON object per line to a metrics file (JSON Lines), flushed after every record so a crash loses at
/// most the line being written. Each record carries a <c>step</c>; on resume <see cref="TruncateAfterStep"/> drops the
/// lines of steps that the restored checkpoint does not contain, so an interrupted-and-resumed run leaves the same file
/// as an uninterrupted one. Reusable by every trainer (SFT, TAPO).
/// </summary>
/// <example><c>{"step":3,"epoch":0.43,"loss":1.9312,"learning_rate":2.5e-06,"grad_norm":0.87,"tokens_per_second":812.4}</c></example>
public sealed class MetricsJsonlWriter : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly StreamWriter _writer;

    /// <summary>The metrics file.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> for appending (creating folders as needed).</summary>
    public MetricsJsonlWriter(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

    /// <summary>Writes one record (keys in the given order) and flushes.</summary>
    public void Write(IReadOnlyDictionary<string, object?> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _writer.Write(JsonSerializer.Serialize(record, Json));
        _writer.Write('\n');
        _writer.Flush();
    }

    /// <summary>
    /// Rewrites <paramref name="path"/> keeping only lines whose <c>step</c> is at most <paramref name="step"/> (and lines
    /// without a step). A missing file is left missing. Call before opening the writer when resuming.
    /// </summary>
    public static void TruncateAfterStep(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = new List<string>();
        foreach (var line in File.ReadAllLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out var value) && value > step) continue;
            }
            catch (JsonException)
            {
                continue; // a torn last line of a crashed run
            }
            kept.Add(line);
        }
        File.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n", new UTF8Encoding(false));
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();
}
