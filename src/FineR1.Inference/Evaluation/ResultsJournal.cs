using System.Text;
using System.Text.Json;

namespace FineR1.Inference.Evaluation;

/// <summary>
/// The per-record results file (JSONL), read back for resume. A line that cannot be parsed (typically the last line of
/// an interrupted run) is ignored and reported in <see cref="Warnings"/>; for a record listed twice the later line wins.
/// </summary>
public sealed class ResultsJournal : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly Dictionary<(string, int), RecordResult> _done = new();
    private readonly StreamWriter? _writer;

    /// <summary>Problems met while reading an existing file (file and line named).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Opens (and reads) <paramref name="path"/>; null keeps results in memory only.</summary>
    public ResultsJournal(string? path)
    {
        if (path is null) return;
        if (File.Exists(path))
        {
            int n = 0;
            bool endsWithNewline = true;
            foreach (var line in File.ReadLines(path))
            {
                n++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    var r = JsonSerializer.Deserialize<RecordResult>(line, Json)
                            ?? throw new JsonException("null");
                    if (r.Error is null && r.Output is not null) _done[(r.File, r.Line)] = r;
                    else _done.Remove((r.File, r.Line));
                }
                catch (JsonException e) { Warnings.Add($"{path}:{n}: unreadable result line ignored ({e.Message})"); }
            }
            using (var fs = File.OpenRead(path))
                if (fs.Length > 0) { fs.Seek(-1, SeekOrigin.End); endsWithNewline = fs.ReadByte() == '\n'; }
            _writer = new StreamWriter(path, append: true, new UTF8Encoding(false));
            if (!endsWithNewline) _writer.WriteLine(); // a cut-off last line must not swallow the next result
        }
        else
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            _writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        }
    }

    /// <summary>The stored successful result of a record, if any.</summary>
    public RecordResult? Done(string file, int line) => _done.GetValueOrDefault((file, line));

    /// <summary>Appends results and flushes, so an interrupted run loses at most the batch in flight.</summary>
    public void Append(IEnumerable<RecordResult> results)
    {
        foreach (var r in results)
        {
            if (r.Error is null && r.Output is not null) _done[(r.File, r.Line)] = r;
            _writer?.WriteLine(JsonSerializer.Serialize(r, Json));
        }
        _writer?.Flush();
    }

    /// <inheritdoc />
    public void Dispose() => _writer?.Dispose();
}
