using System.Text.Json;
using FineR1.Core.Configuration;

namespace FineR1.Inference.Siglip;

/// <summary>
/// Hyper-parameters of HF <c>SiglipTextConfig</c> (JSON names in comments; defaults are HF's, which are also
/// <c>google/siglip-base-patch16-256</c>'s text tower).
/// </summary>
public sealed record SiglipTextConfig
{
    /// <summary><c>vocab_size</c> (32000).</summary>
    public int VocabSize { get; init; } = 32000;
    /// <summary><c>hidden_size</c> (768).</summary>
    public int HiddenSize { get; init; } = 768;
    /// <summary><c>intermediate_size</c> (3072).</summary>
    public int IntermediateSize { get; init; } = 3072;
    /// <summary><c>num_hidden_layers</c> (12).</summary>
    public int NumHiddenLayers { get; init; } = 12;
    /// <summary><c>num_attention_heads</c> (12).</summary>
    public int NumAttentionHeads { get; init; } = 12;
    /// <summary><c>max_position_embeddings</c> (64): also the length every input is padded to.</summary>
    public int MaxPositionEmbeddings { get; init; } = 64;
    /// <summary><c>hidden_act</c> (<c>gelu_pytorch_tanh</c>).</summary>
    public string HiddenAct { get; init; } = "gelu_pytorch_tanh";
    /// <summary><c>layer_norm_eps</c> (1e-6).</summary>
    public double LayerNormEps { get; init; } = 1e-6;
    /// <summary><c>pad_token_id</c> (1; the same id as <c>&lt;/s&gt;</c> in the SigLIP vocabulary).</summary>
    public int PadTokenId { get; init; } = 1;
    /// <summary><c>eos_token_id</c> as written in the config (HF's default 49407 is a CLIP leftover; the tokenizer's <c>&lt;/s&gt;</c> is what counts).</summary>
    public int EosTokenId { get; init; } = 49407;
    /// <summary><c>projection_size</c>: output size of <c>head</c> (null in the config means <see cref="HiddenSize"/>).</summary>
    public int ProjectionSize { get; init; } = 768;

    /// <summary>Per-head dimension (<c>hidden_size / num_attention_heads</c>).</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>
    /// Reads <c>config.json</c> from a file or a folder. Accepts a text-tower config (<c>siglip_text_model</c>) or a
    /// full <c>SiglipConfig</c>, whose <c>text_config</c> is used.
    /// </summary>
    /// <exception cref="ConfigurationException">Missing file, bad JSON, or inconsistent sizes.</exception>
    public static SiglipTextConfig Load(string fileOrFolder)
    {
        string path = Directory.Exists(fileOrFolder) ? Path.Combine(fileOrFolder, "config.json") : fileOrFolder;
        if (!File.Exists(path)) throw new ConfigurationException("config.json not found.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the JSON text of a config (see <see cref="Load"/>); <paramref name="path"/> only names errors.</summary>
    public static SiglipTextConfig Parse(string json, string? path = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ConfigurationException($"not valid JSON: {e.Message}", path, e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ConfigurationException("the config is not a JSON object.", path);
            var t = root.TryGetProperty("text_config", out var tc) && tc.ValueKind == JsonValueKind.Object ? tc : root;
            var d = new SiglipTextConfig();
            int hidden = Int(t, "hidden_size", d.HiddenSize, path);
            var c = new SiglipTextConfig
            {
                VocabSize = Int(t, "vocab_size", d.VocabSize, path),
                HiddenSize = hidden,
                IntermediateSize = Int(t, "intermediate_size", d.IntermediateSize, path),
                NumHiddenLayers = Int(t, "num_hidden_layers", d.NumHiddenLayers, path),
                NumAttentionHeads = Int(t, "num_attention_heads", d.NumAttentionHeads, path),
                MaxPositionEmbeddings = Int(t, "max_position_embeddings", d.MaxPositionEmbeddings, path),
                HiddenAct = t.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String ? act.GetString()! : d.HiddenAct,
                LayerNormEps = t.TryGetProperty("layer_norm_eps", out var eps) && eps.ValueKind == JsonValueKind.Number ? eps.GetDouble() : d.LayerNormEps,
                PadTokenId = Int(t, "pad_token_id", d.PadTokenId, path),
                EosTokenId = Int(t, "eos_token_id", d.EosTokenId, path),
                ProjectionSize = Int(t, "projection_size", hidden, path),
            };
            if (c.HiddenSize <= 0 || c.NumAttentionHeads <= 0 || c.HiddenSize % c.NumAttentionHeads != 0)
                throw new ConfigurationException($"hidden_size {c.HiddenSize} is not a positive multiple of num_attention_heads {c.NumAttentionHeads}.", path);
            if (c.VocabSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers < 0 || c.MaxPositionEmbeddings <= 0 || c.ProjectionSize <= 0)
                throw new ConfigurationException("vocab_size, intermediate_size, max_position_embeddings and projection_size must be positive.", path);
            SiglipActivation.Check(c.HiddenAct, path);
            return c;
        }
    }

    private static int Int(JsonElement e, string name, int fallback, string? path)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw new ConfigurationException($"'{name}' must be an integer (found {v.GetRawText()}).", path);
        return i;
    }
}
