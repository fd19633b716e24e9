using System.Text.Json;
using FineR1.Core.Configuration;

namespace FineR1.Core.Generation;

/// <summary>
/// A checkpoint's <c>generation_config.json</c>: the decoding defaults HF's <c>generate</c> starts from before the
/// caller's arguments override them. Fields the file does not set are null (HF then uses <c>GenerationConfig</c>'s
/// defaults). Qwen2.5-VL-3B/7B-Instruct ship <c>do_sample: true, temperature: 0.1, top_k: 1, top_p: 0.001,
/// repetition_penalty: 1.05, eos_token_id: [151645, 151643], pad_token_id: 151643</c>; Fine-R1's evaluation passes
/// <c>do_sample=False</c>, so greedy decoding with the repetition penalty 1.05 is what it ran.
/// </summary>
/// <example><code>
/// var defaults = GenerationConfig.Load("/models/Qwen2.5-VL-7B-Instruct");       // null when the file is absent
/// var options = new ClassifierOptions().ToGenerationOptions(defaults);           // greedy, repetition penalty 1.05
/// </code></example>
public sealed record GenerationConfig
{
    /// <summary>File name inside a model folder.</summary>
    public const string FileName = "generation_config.json";

    /// <summary><c>do_sample</c>.</summary>
    public bool? DoSample { get; init; }
    /// <summary><c>temperature</c>.</summary>
    public double? Temperature { get; init; }
    /// <summary><c>top_k</c>.</summary>
    public int? TopK { get; init; }
    /// <summary><c>top_p</c>.</summary>
    public double? TopP { get; init; }
    /// <summary><c>repetition_penalty</c>.</summary>
    public double? RepetitionPenalty { get; init; }
    /// <summary><c>max_new_tokens</c>.</summary>
    public int? MaxNewTokens { get; init; }
    /// <summary><c>eos_token_id</c> (a number or a list).</summary>
    public IReadOnlyList<long>? EosTokenIds { get; init; }
    /// <summary><c>pad_token_id</c>.</summary>
    public long? PadTokenId { get; init; }

    /// <summary>Reads <see cref="FileName"/> from <paramref name="folder"/>; null when the folder has none.</summary>
    /// <exception cref="ConfigurationException">The file is not valid JSON or a field has the wrong type (named).</exception>
    public static GenerationConfig? Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : null;
    }

    /// <summary>Parses the JSON text of a <c>generation_config.json</c>; unknown keys are ignored, as HF does.</summary>
    /// <exception cref="ConfigurationException">Not a JSON object, or a field has the wrong type (named).</exception>
    public static GenerationConfig Parse(string json, string source = FileName)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ConfigurationException($"not valid JSON ({e.Message})", source, e); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ConfigurationException("expected a JSON object.", source);
            T? Field<T>(string name, Func<JsonElement, T> read) where T : struct
            {
                if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
                try { return read(e); }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException)
                {
                    throw new ConfigurationException($"field '{name}' has the wrong type ({e.ValueKind}).", source, ex);
                }
            }
            IReadOnlyList<long>? eos = null;
            if (root.TryGetProperty("eos_token_id", out var eosElement) && eosElement.ValueKind != JsonValueKind.Null)
                eos = eosElement.ValueKind == JsonValueKind.Array
                    ? eosElement.EnumerateArray().Select(e => Field0(e, source)).ToList()
                    : [Field0(eosElement, source)];
            return new GenerationConfig
            {
                DoSample = Field("do_sample", e => e.GetBoolean()),
                Temperature = Field("temperature", e => e.GetDouble()),
                TopK = Field("top_k", e => e.GetInt32()),
                TopP = Field("top_p", e => e.GetDouble()),
                RepetitionPenalty = Field("repetition_penalty", e => e.GetDouble()),
                MaxNewTokens = Field("max_new_tokens", e => e.GetInt32()),
                EosTokenIds = eos,
                PadTokenId = Field("pad_token_id", e => e.GetInt64()),
            };
        }
    }

    private static long Field0(JsonElement e, string source) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var id) ? id
            : throw new ConfigurationException($"field 'eos_token_id' must hold integer token ids, got {e.ValueKind}.", source);
}
