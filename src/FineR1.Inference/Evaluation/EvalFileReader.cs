using System.Text.Json;
using FineR1.Core;
using FineR1.Core.IO;

namespace FineR1.Inference.Evaluation;

/// <summary>A whole eval file (or the options naming it) could not be used: missing, not a regular file, too large.</summary>
public sealed class EvalDataException : FineR1InputException
{
    /// <summary>Creates the exception; the message names <paramref name="filePath"/>.</summary>
    public EvalDataException(string message, string filePath, Exception? inner = null)
        : base(message, filePath, inner) { }
}

/// <summary>
/// Reads eval JSONL files line by line. A bad line (not JSON, a missing or mistyped field, an empty option list when
/// options are required) becomes an <see cref="EvalFailure"/> naming the file and line; reading goes on. Blank lines
/// are skipped.
/// </summary>
public static class EvalFileReader
{
    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">A <c>.jsonl</c> file.</param>
    /// <param name="requireOptions">Treat an empty or missing <c>options</c> list as a failure (closed world).</param>
    /// <exception cref="EvalDataException">The file does not exist, is not a regular file or is larger than <see cref="MaxFileBytes"/>.</exception>
    public static IEnumerable<EvalLine> Read(string path, bool requireOptions = true)
    {
        Check(path);
        return ReadLines(path, requireOptions);
    }

    /// <summary>Largest eval file read (1 GiB; the released files are below 1 MB).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>Checks that <paramref name="path"/> is a regular, non-empty file of at most <see cref="MaxFileBytes"/>.</summary>
    /// <exception cref="EvalDataException">It is not.</exception>
    public static void Check(string path) =>
        InputFile.Check(path, MaxFileBytes, message => new EvalDataException(message, path));

    private static IEnumerable<EvalLine> ReadLines(string path, bool requireOptions)
    {
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return Parse(line, path, lineNumber, requireOptions);
        }
    }

    /// <summary>Parses one line (see <see cref="Read"/>).</summary>
    public static EvalLine Parse(string line, string path, int lineNumber, bool requireOptions = true)
    {
        EvalLine Fail(string message) => new(null, new EvalFailure(path, lineNumber, message));
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { return Fail($"not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Fail("not a JSON object");
            string? String(string name) =>
                root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var image = String("image_path");
            var question = String("question");
            var truth = String("ground_truth");
            if (string.IsNullOrEmpty(image)) return Fail("'image_path' is missing or not a non-empty string");
            if (question is null) return Fail("'question' is missing or not a string");
            if (string.IsNullOrEmpty(truth)) return Fail("'ground_truth' is missing or not a non-empty string");
            var options = new List<string>();
            if (root.TryGetProperty("options", out var opts) && opts.ValueKind != JsonValueKind.Null)
            {
                if (opts.ValueKind != JsonValueKind.Array) return Fail("'options' is not a list");
                foreach (var o in opts.EnumerateArray())
                {
                    if (o.ValueKind != JsonValueKind.String) return Fail("'options' contains a value that is not a string");
                    options.Add(o.GetString()!);
                }
            }
            if (requireOptions && options.Count == 0) return Fail("'options' is missing or empty");
            return new EvalLine(new EvalRecord(image, question, options, truth, path, lineNumber), null);
        }
    }
}
