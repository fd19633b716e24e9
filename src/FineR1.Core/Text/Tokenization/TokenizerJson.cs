using System.Text.Json;

namespace FineR1.Core.Text.Tokenization;

/// <summary>The parts of an HF <c>tokenizer.json</c> a byte-level BPE tokenizer needs, checked for consistency.</summary>
internal sealed record TokenizerJson(
    Dictionary<string, int> Vocabulary,
    List<string> Merges,
    List<AddedToken> AddedTokens)
{
    /// <summary>Ids must lie below this (16,777,216; Qwen's largest is 151,668), so id-indexed tables stay small.</summary>
    public const int MaxId = 1 << 24;

    /// <summary>Parses and validates <paramref name="utf8Json"/>; <paramref name="source"/> names the file in errors.</summary>
    public static TokenizerJson Parse(ReadOnlyMemory<byte> utf8Json, string source)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (JsonException e) { throw new TokenizerFormatException($"not valid JSON ({e.Message})", source, e); }

        using (document)
        try
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerFormatException("the top level is not a JSON object", source);
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new TokenizerFormatException("missing \"model\" object", source);
            if (model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "BPE")
                throw new TokenizerFormatException($"model.type is \"{type.GetString()}\"; only \"BPE\" is supported", source);
            RequireByteLevel(root, source);

            var vocabulary = ReadVocabulary(model, source);
            var merges = ReadMerges(model, vocabulary, source);
            var added = ReadAddedTokens(root, source);
            return new TokenizerJson(vocabulary, merges, added);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json reports invalid UTF-8 inside a string only when the string is read
            throw new TokenizerFormatException($"not valid UTF-8 JSON ({e.Message})", source, e);
        }
    }

    private static void RequireByteLevel(JsonElement root, string source)
    {
        // Qwen: pre_tokenizer = Sequence[Split(regex), ByteLevel(use_regex=false)], decoder = ByteLevel.
        var text = root.TryGetProperty("decoder", out var decoder) ? decoder.GetRawText() : "";
        if (root.TryGetProperty("pre_tokenizer", out var pre)) text += pre.GetRawText();
        if (!text.Contains("\"ByteLevel\"", StringComparison.Ordinal))
            throw new TokenizerFormatException("neither pre_tokenizer nor decoder is ByteLevel; only byte-level BPE (Qwen2 family) is supported", source);
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string source)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException("missing \"model.vocab\" object", source);
        var result = new Dictionary<string, int>(capacity: 160_000, StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0 || id >= MaxId)
                throw new TokenizerFormatException($"model.vocab[\"{entry.Name}\"] is not a non-negative integer id below {MaxId}", source);
            result[entry.Name] = id;
        }
        if (result.Count == 0) throw new TokenizerFormatException("model.vocab is empty", source);
        if (result.Values.Distinct().Count() != result.Count)
            throw new TokenizerFormatException("model.vocab gives one id to two tokens", source);
        return result;
    }

    private static List<string> ReadMerges(JsonElement model, Dictionary<string, int> vocabulary, string source)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw new TokenizerFormatException("missing \"model.merges\" array", source);
        var result = new List<string>(merges.GetArrayLength());
        var index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                // Old format "a b" (tokenizers < 0.20, e.g. Qwen2.5-VL's own file).
                var parts = merge.GetString()!.Split(' ');
                if (parts.Length != 2) throw new TokenizerFormatException($"model.merges[{index}] \"{merge.GetString()}\" is not two tokens separated by one space", source);
                (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                // New format ["a","b"] (tokenizers >= 0.20, e.g. the Qwen3 file).
                (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
                if (left.Contains(' ') || right.Contains(' '))
                    throw new TokenizerFormatException($"model.merges[{index}] contains a space, which byte-level BPE tokens never do", source);
            }
            else throw new TokenizerFormatException($"model.merges[{index}] is neither \"a b\" nor [\"a\",\"b\"]", source);

            foreach (var token in (ReadOnlySpan<string>)[left, right, left + right])
                if (!vocabulary.ContainsKey(token))
                    throw new TokenizerFormatException($"model.merges[{index}] ({left} {right}) uses \"{token}\", which is not in model.vocab", source);
            result.Add(left + " " + right);
            index++;
        }
        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string source)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null) return result;
        if (added.ValueKind != JsonValueKind.Array) throw new TokenizerFormatException("\"added_tokens\" is not an array", source);
        var index = 0;
        foreach (var entry in added.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var idValue) || idValue < 0 || idValue >= MaxId
                || !entry.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString()!.Length == 0)
                throw new TokenizerFormatException($"added_tokens[{index}] needs a non-negative integer \"id\" and a non-empty string \"content\"", source);
            var special = entry.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
            result.Add(new AddedToken(content.GetString()!, idValue, special));
            index++;
        }
        return result;
    }
}
