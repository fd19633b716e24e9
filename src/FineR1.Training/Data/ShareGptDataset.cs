using System.Text.Json;
using FineR1.Core.IO;

namespace FineR1.Training.Data;

/// <summary>
/// Reads the paper's Stage-1 CoT SFT file (LLaMA-Factory "sharegpt" formatting: a JSON array of
/// <c>{"messages": [{"role","content"}...], "images": ["relative/path.jpg"]}</c>; docs/method.md §4.2), resolving image paths
/// against a root folder. Every problem is reported with the file and the record index, at load time. Image paths must
/// stay inside the image root (no <c>../</c> or absolute path elsewhere) unless <c>allowImagesOutsideRoot</c> is set.
/// Special-token strings in message content (<c>&lt;|im_end|&gt;</c>) are kept: the chat template encodes message
/// text as plain text by default, so they cannot break a conversation.
/// </summary>
/// <example><code>
/// var records = ShareGptDataset.Load("stage1-cot-sft.json", imageRoot: "/data/fgvr");
/// </code></example>
public static class ShareGptDataset
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant"];

    /// <summary>Loads and validates every record.</summary>
    /// <param name="jsonPath">The JSON file.</param>
    /// <param name="imageRoot">Folder that relative image paths are resolved against (default: the JSON file's folder).</param>
    /// <param name="requireImages">When true (default) a missing image file is an error.</param>
    /// <param name="allowImagesOutsideRoot">Accept image paths that leave <paramref name="imageRoot"/> (default false).</param>
    /// <exception cref="DatasetException">Missing, non-regular or too large file, invalid JSON, malformed record,
    /// missing image or an image path outside the root.</exception>
    public static IReadOnlyList<SftRecord> Load(string jsonPath, string? imageRoot = null, bool requireImages = true, bool allowImagesOutsideRoot = false)
    {
        ArgumentNullException.ThrowIfNull(jsonPath);
        JsonDocument doc;
        try
        {
            using var stream = InputFile.OpenRead(jsonPath, MaxFileBytes, message => new DatasetException(message, jsonPath));
            imageRoot ??= Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
            doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new DatasetException($"invalid JSON: {e.Message}", jsonPath, inner: e);
        }
        catch (IOException e)
        {
            throw new DatasetException($"cannot read the file ({e.Message}).", jsonPath, inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new DatasetException("the top level must be a JSON array of records.", jsonPath);
            var records = new List<SftRecord>();
            int index = 0;
            foreach (var element in doc.RootElement.EnumerateArray())
            {
                try { records.Add(ParseRecord(element, index, jsonPath, imageRoot, requireImages, allowImagesOutsideRoot)); }
                catch (InvalidOperationException e)
                {
                    // System.Text.Json reports invalid UTF-8 inside a string only when the string is read
                    throw new DatasetException($"invalid text: {e.Message}", jsonPath, index, e);
                }
                index++;
            }
            return records;
        }
    }

    /// <summary>Largest dataset file read (JSON documents are limited to 2 GB).</summary>
    public const long MaxFileBytes = int.MaxValue;

    private static SftRecord ParseRecord(JsonElement e, int index, string file, string imageRoot, bool requireImages, bool allowOutside)
    {
        DatasetException Error(string message) => new(message, file, index);
        if (e.ValueKind != JsonValueKind.Object) throw Error("a record must be a JSON object.");
        if (!e.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw Error("missing 'messages' array.");
        var turns = new List<SftTurn>();
        foreach (var m in messages.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw Error($"message {turns.Count} needs string 'role' and 'content'.");
            var r = role.GetString()!;
            if (!Roles.Contains(r)) throw Error($"message {turns.Count} has unknown role '{r}'.");
            turns.Add(new SftTurn(r, content.GetString()!));
        }
        if (!turns.Any(t => t.Role == "user")) throw Error("no user turn.");
        if (turns[^1].Role != "assistant") throw Error("the last turn must be the assistant's answer.");

        var images = new List<string>();
        if (e.TryGetProperty("images", out var imgs))
        {
            if (imgs.ValueKind != JsonValueKind.Array) throw Error("'images' must be an array of paths.");
            foreach (var img in imgs.EnumerateArray())
            {
                if (img.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(img.GetString()))
                    throw Error("'images' entries must be non-empty strings.");
                var relative = img.GetString()!;
                var path = InputFile.ResolveInside(imageRoot, relative);
                if (path is null)
                {
                    if (!allowOutside || relative.Contains('\0')) throw Error($"image path '{relative}' leaves the image root {imageRoot} (set allowImagesOutsideRoot to accept it).");
                    path = Path.GetFullPath(Path.Combine(imageRoot, relative));
                }
                if (requireImages && !File.Exists(path)) throw Error($"image not found: {path}");
                images.Add(path);
            }
        }
        int placeholders = turns.Where(t => t.Role == "user").Sum(t => CountOccurrences(t.Content, SftRecord.ImagePlaceholder));
        if (placeholders != images.Count)
            throw Error($"{placeholders} '<image>' placeholder(s) but {images.Count} image(s).");
        return new SftRecord(index, turns, images);
    }

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
