using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineR1.Core.Configuration;

/// <summary>
/// Configuration of a <c>Qwen2_5_VLForConditionalGeneration</c> model, read from an HF <c>config.json</c> in either
/// layout: transformers 4.x (text fields at the top level, <c>rope_scaling</c>) or 5.x (<c>text_config</c>,
/// <c>vision_config</c>, <c>rope_parameters</c>). <see cref="Qwen2_5_VL3B"/> and <see cref="Qwen2_5_VL7B"/> are presets.
/// </summary>
public sealed record Qwen2_5_VLConfig : IPretrainedConfig
{
    /// <summary>Text decoder settings.</summary>
    public Qwen2_5_VLTextConfig Text { get; init; } = new();
    /// <summary>Vision tower settings.</summary>
    public Qwen2_5_VLVisionConfig Vision { get; init; } = new();
    /// <summary><c>image_token_id</c>: the <c>&lt;|image_pad|&gt;</c> placeholder (151655).</summary>
    public int ImageTokenId { get; init; } = 151655;
    /// <summary><c>video_token_id</c> (151656).</summary>
    public int VideoTokenId { get; init; } = 151656;
    /// <summary><c>vision_start_token_id</c> (151652).</summary>
    public int VisionStartTokenId { get; init; } = 151652;
    /// <summary><c>vision_end_token_id</c> (151653).</summary>
    public int VisionEndTokenId { get; init; } = 151653;

    /// <summary>Qwen2.5-VL-3B-Instruct (3,754,622,976 parameters).</summary>
    public static Qwen2_5_VLConfig Qwen2_5_VL3B { get; } = new()
    {
        Text = new Qwen2_5_VLTextConfig
        {
            VocabSize = 151936, HiddenSize = 2048, IntermediateSize = 11008, NumHiddenLayers = 36,
            NumAttentionHeads = 16, NumKeyValueHeads = 2, TieWordEmbeddings = true,
        },
        Vision = new Qwen2_5_VLVisionConfig { OutHiddenSize = 2048 },
    };

    /// <summary>Qwen2.5-VL-7B-Instruct (8,292,166,656 parameters).</summary>
    public static Qwen2_5_VLConfig Qwen2_5_VL7B { get; } = new()
    {
        Text = new Qwen2_5_VLTextConfig
        {
            VocabSize = 152064, HiddenSize = 3584, IntermediateSize = 18944, NumHiddenLayers = 28,
            NumAttentionHeads = 28, NumKeyValueHeads = 4, TieWordEmbeddings = false,
        },
        Vision = new Qwen2_5_VLVisionConfig { OutHiddenSize = 3584 },
    };

    /// <summary>Reads <c>config.json</c> from a file or a model folder.</summary>
    /// <exception cref="ConfigurationException">The file is missing, not JSON, or misses or contradicts required fields.</exception>
    public static Qwen2_5_VLConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new ConfigurationException("config.json not found.", file);
        var bytes = IO.InputFile.ReadAllBytes(file, MaxFileBytes, message => new ConfigurationException(message, file));
        string json;
        try { json = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (ArgumentException e) { throw new ConfigurationException($"not UTF-8 text ({e.Message}).", file, e); }
        return Parse(json, file);
    }

    /// <summary>Largest config.json read (1 MiB; a real one is about 2 KB).</summary>
    public const long MaxFileBytes = 1 << 20;

    /// <summary>Parses the text of an HF <c>config.json</c>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ConfigurationException">Not JSON, or required fields are missing or inconsistent.</exception>
    public static Qwen2_5_VLConfig Parse(string json, string? source = null)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject
                   ?? throw new ConfigurationException("the top level is not a JSON object.", source);
        }
        catch (JsonException e)
        {
            throw new ConfigurationException($"invalid JSON: {e.Message}", source, e);
        }
        try { return FromJson(root, source); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or JsonException)
        {
            // e.g. a key written twice ({"hidden_size": 1, "hidden_size": 2}), which JsonObject refuses on first access.
            throw new ConfigurationException($"invalid content: {e.Message}", source, e);
        }
    }

    private static Qwen2_5_VLConfig FromJson(JsonObject root, string? source)
    {
        var reader = new Reader(source);
        // 5.x nests the decoder's fields in text_config; 4.x keeps them at the top level (and may also carry a
        // partial text_config). Top-level values are the fallback for each field.
        var text = root["text_config"] as JsonObject;
        var vision = root["vision_config"] as JsonObject
                     ?? throw new ConfigurationException("missing 'vision_config'.", source);

        JsonNode? T(string name) => text?[name] ?? root[name];
        var ropeNode = (T("rope_parameters") ?? T("rope_scaling")) as JsonObject;

        var tc = new Qwen2_5_VLTextConfig
        {
            VocabSize = reader.Int(T("vocab_size"), "vocab_size"),
            HiddenSize = reader.Int(T("hidden_size"), "hidden_size"),
            IntermediateSize = reader.Int(T("intermediate_size"), "intermediate_size"),
            NumHiddenLayers = reader.Int(T("num_hidden_layers"), "num_hidden_layers"),
            NumAttentionHeads = reader.Int(T("num_attention_heads"), "num_attention_heads"),
            NumKeyValueHeads = reader.Int(T("num_key_value_heads") ?? T("num_attention_heads"), "num_key_value_heads"),
            RmsNormEps = reader.Double(T("rms_norm_eps"), "rms_norm_eps", 1e-6),
            RopeTheta = reader.Double(ropeNode?["rope_theta"] ?? T("rope_theta"), "rope_theta", 1_000_000.0),
            MropeSection = reader.IntList(ropeNode?["mrope_section"], "mrope_section"),
            MaxPositionEmbeddings = reader.Int(T("max_position_embeddings"), "max_position_embeddings", 128000),
            TieWordEmbeddings = reader.Bool(root["tie_word_embeddings"] ?? text?["tie_word_embeddings"], "tie_word_embeddings", false),
            HiddenAct = reader.String(T("hidden_act"), "hidden_act", "silu"),
            BosTokenId = reader.OptionalInt(T("bos_token_id"), "bos_token_id"),
            EosTokenId = reader.OptionalInt(T("eos_token_id"), "eos_token_id"),
        };
        var visionRope = vision["rope_parameters"] as JsonObject;
        var vc = new Qwen2_5_VLVisionConfig
        {
            Depth = reader.Int(vision["depth"], "vision_config.depth"),
            HiddenSize = reader.Int(vision["hidden_size"] ?? vision["embed_dim"], "vision_config.hidden_size"),
            IntermediateSize = reader.Int(vision["intermediate_size"], "vision_config.intermediate_size"),
            NumHeads = reader.Int(vision["num_heads"], "vision_config.num_heads"),
            InChannels = reader.Int(vision["in_channels"] ?? vision["in_chans"], "vision_config.in_channels", 3),
            PatchSize = reader.Int(vision["patch_size"] ?? vision["spatial_patch_size"], "vision_config.patch_size", 14),
            SpatialMergeSize = reader.Int(vision["spatial_merge_size"], "vision_config.spatial_merge_size", 2),
            TemporalPatchSize = reader.Int(vision["temporal_patch_size"], "vision_config.temporal_patch_size", 2),
            WindowSize = reader.Int(vision["window_size"], "vision_config.window_size", 112),
            FullAttentionBlockIndexes = reader.IntList(vision["fullatt_block_indexes"], "vision_config.fullatt_block_indexes"),
            OutHiddenSize = reader.Int(vision["out_hidden_size"], "vision_config.out_hidden_size"),
            TokensPerSecond = reader.Int(vision["tokens_per_second"], "vision_config.tokens_per_second", 2),
            HiddenAct = reader.String(vision["hidden_act"], "vision_config.hidden_act", "silu"),
            RopeTheta = reader.Double(visionRope?["rope_theta"], "vision_config.rope_theta", 10000.0),
        };
        var config = new Qwen2_5_VLConfig
        {
            Text = tc,
            Vision = vc,
            ImageTokenId = reader.Int(root["image_token_id"], "image_token_id", 151655),
            VideoTokenId = reader.Int(root["video_token_id"], "video_token_id", 151656),
            VisionStartTokenId = reader.Int(root["vision_start_token_id"], "vision_start_token_id", 151652),
            VisionEndTokenId = reader.Int(root["vision_end_token_id"], "vision_end_token_id", 151653),
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Largest accepted values of the size fields: far above any Qwen2.5-VL, far below what would make a
    /// single allocation overflow or abort the native library.</summary>
    public static class Limits
    {
        /// <summary><c>vocab_size</c>.</summary>
        public const int VocabSize = 1 << 22;
        /// <summary><c>hidden_size</c> (text and vision).</summary>
        public const int HiddenSize = 1 << 16;
        /// <summary><c>intermediate_size</c> (text and vision).</summary>
        public const int IntermediateSize = 1 << 18;
        /// <summary><c>num_hidden_layers</c> and <c>vision_config.depth</c>.</summary>
        public const int Layers = 1024;
        /// <summary><c>max_position_embeddings</c>.</summary>
        public const int Positions = 1 << 24;
        /// <summary>Patch, merge and temporal sizes, <c>in_channels</c>.</summary>
        public const int SmallSize = 1024;
    }

    /// <summary>
    /// Checks every value's range and the consistency between them (divisibility of heads, M-RoPE sections, window
    /// size, token ids inside the vocabulary…). Each message names the field as config.json spells it.
    /// </summary>
    /// <exception cref="ConfigurationException">A value is out of range or contradicts another (names <paramref name="source"/>).</exception>
    public void Validate(string? source = null)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new ConfigurationException(message, source);
        }
        void Range(long value, string field, long min, long max) =>
            Require(value >= min && value <= max, $"'{field}' = {value} is out of range [{min}, {max}].");
        void Positive(double value, string field, double max) =>
            Require(double.IsFinite(value) && value > 0 && value <= max, $"'{field}' = {value} must be a positive finite number (at most {max}).");
        void TokenId(int? id, string field) =>
            Require(id is null || (id >= 0 && id < Text.VocabSize), $"'{field}' = {id} is not a token id of the vocabulary [0, {Text.VocabSize}).");

        var t = Text; var v = Vision;
        Range(t.VocabSize, "vocab_size", 1, Limits.VocabSize);
        Range(t.HiddenSize, "hidden_size", 1, Limits.HiddenSize);
        Range(t.IntermediateSize, "intermediate_size", 1, Limits.IntermediateSize);
        Range(t.NumHiddenLayers, "num_hidden_layers", 1, Limits.Layers);
        Range(t.NumAttentionHeads, "num_attention_heads", 1, t.HiddenSize);
        Range(t.NumKeyValueHeads, "num_key_value_heads", 1, t.NumAttentionHeads);
        Range(t.MaxPositionEmbeddings, "max_position_embeddings", 1, Limits.Positions);
        Positive(t.RmsNormEps, "rms_norm_eps", 1.0);
        Positive(t.RopeTheta, "rope_theta", 1e12);
        Require(t.HiddenSize % t.NumAttentionHeads == 0, $"'hidden_size' {t.HiddenSize} must be divisible by 'num_attention_heads' {t.NumAttentionHeads}.");
        Require(t.NumAttentionHeads % t.NumKeyValueHeads == 0, $"'num_attention_heads' {t.NumAttentionHeads} must be divisible by 'num_key_value_heads' {t.NumKeyValueHeads}.");
        Require(t.HeadDim % 2 == 0, $"the attention head dimension hidden_size/num_attention_heads = {t.HeadDim} must be even (rotary embedding).");
        Require(t.MropeSection.Count == 3 && t.MropeSection.All(s => s > 0 && s <= t.HeadDim), "'mrope_section' must hold three positive numbers.");
        Require(t.MropeSection.Sum() * 2 == t.HeadDim, $"'mrope_section' [{string.Join(", ", t.MropeSection)}] must sum to head_dim/2 = {t.HeadDim / 2}.");
        Require(t.HiddenAct == "silu", $"'hidden_act' '{t.HiddenAct}' is not supported (silu only).");

        Range(v.Depth, "vision_config.depth", 1, Limits.Layers);
        Range(v.HiddenSize, "vision_config.hidden_size", 1, Limits.HiddenSize);
        Range(v.IntermediateSize, "vision_config.intermediate_size", 1, Limits.IntermediateSize);
        Range(v.NumHeads, "vision_config.num_heads", 1, v.HiddenSize);
        Range(v.InChannels, "vision_config.in_channels", 1, 16);
        Range(v.PatchSize, "vision_config.patch_size", 1, Limits.SmallSize);
        Range(v.SpatialMergeSize, "vision_config.spatial_merge_size", 1, 16);
        Range(v.TemporalPatchSize, "vision_config.temporal_patch_size", 1, 16);
        Range(v.WindowSize, "vision_config.window_size", 1, 1 << 16);
        Range(v.TokensPerSecond, "vision_config.tokens_per_second", 0, 1 << 16);
        Positive(v.RopeTheta, "vision_config.rope_theta", 1e12);
        Require(v.HiddenSize % v.NumHeads == 0 && v.HeadDim % 4 == 0, "'vision_config.hidden_size' / 'num_heads' must be a multiple of 4 (2-D rotary).");
        Require(v.WindowSize % (v.PatchSize * v.SpatialMergeSize) == 0, "'vision_config.window_size' must be a multiple of patch_size × spatial_merge_size.");
        Require(v.FullAttentionBlockIndexes.All(i => i >= 0 && i < v.Depth), "'vision_config.fullatt_block_indexes' must lie in [0, depth).");
        Require(v.OutHiddenSize == t.HiddenSize, $"'vision_config.out_hidden_size' {v.OutHiddenSize} must equal the text 'hidden_size' {t.HiddenSize}.");
        Require(v.HiddenAct == "silu", $"'vision_config.hidden_act' '{v.HiddenAct}' is not supported (silu only).");

        TokenId(ImageTokenId, "image_token_id");
        TokenId(VideoTokenId, "video_token_id");
        TokenId(VisionStartTokenId, "vision_start_token_id");
        TokenId(VisionEndTokenId, "vision_end_token_id");
        // bos/eos are not checked here: HF's own tiny test configs carry Qwen's 151643/151645 with a 512-row vocabulary.
        // FineR1Model.Load checks them against the vocabulary of the model it runs.
    }

    /// <summary>Writes the transformers 5.x layout (also read by transformers 4.x ≥ 4.49 through <c>text_config</c>).</summary>
    public string ToJson()
    {
        var t = Text; var v = Vision;
        var rope = new JsonObject
        {
            ["mrope_section"] = new JsonArray(t.MropeSection.Select(x => (JsonNode)x).ToArray()),
            ["rope_theta"] = t.RopeTheta, ["rope_type"] = "default", ["type"] = "mrope",
        };
        var text = new JsonObject
        {
            ["model_type"] = "qwen2_5_vl_text", ["vocab_size"] = t.VocabSize, ["hidden_size"] = t.HiddenSize,
            ["intermediate_size"] = t.IntermediateSize, ["num_hidden_layers"] = t.NumHiddenLayers,
            ["num_attention_heads"] = t.NumAttentionHeads, ["num_key_value_heads"] = t.NumKeyValueHeads,
            ["rms_norm_eps"] = t.RmsNormEps, ["max_position_embeddings"] = t.MaxPositionEmbeddings,
            ["hidden_act"] = t.HiddenAct, ["tie_word_embeddings"] = t.TieWordEmbeddings,
            ["bos_token_id"] = t.BosTokenId, ["eos_token_id"] = t.EosTokenId,
            ["rope_parameters"] = rope, ["rope_scaling"] = rope.DeepClone(), ["rope_theta"] = t.RopeTheta,
        };
        var vision = new JsonObject
        {
            ["model_type"] = "qwen2_5_vl_vision", ["depth"] = v.Depth, ["hidden_size"] = v.HiddenSize,
            ["intermediate_size"] = v.IntermediateSize, ["num_heads"] = v.NumHeads, ["in_channels"] = v.InChannels,
            ["in_chans"] = v.InChannels, ["patch_size"] = v.PatchSize, ["spatial_merge_size"] = v.SpatialMergeSize,
            ["temporal_patch_size"] = v.TemporalPatchSize, ["window_size"] = v.WindowSize,
            ["fullatt_block_indexes"] = new JsonArray(v.FullAttentionBlockIndexes.Select(x => (JsonNode)x).ToArray()),
            ["out_hidden_size"] = v.OutHiddenSize, ["tokens_per_second"] = v.TokensPerSecond, ["hidden_act"] = v.HiddenAct,
        };
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("Qwen2_5_VLForConditionalGeneration"),
            ["model_type"] = "qwen2_5_vl",
            ["image_token_id"] = ImageTokenId, ["video_token_id"] = VideoTokenId,
            ["vision_start_token_id"] = VisionStartTokenId, ["vision_end_token_id"] = VisionEndTokenId,
            ["tie_word_embeddings"] = t.TieWordEmbeddings,
            // 4.x readers take the decoder fields from the top level.
            ["vocab_size"] = t.VocabSize, ["hidden_size"] = t.HiddenSize, ["intermediate_size"] = t.IntermediateSize,
            ["num_hidden_layers"] = t.NumHiddenLayers, ["num_attention_heads"] = t.NumAttentionHeads,
            ["num_key_value_heads"] = t.NumKeyValueHeads, ["rms_norm_eps"] = t.RmsNormEps, ["rope_theta"] = t.RopeTheta,
            ["max_position_embeddings"] = t.MaxPositionEmbeddings, ["rope_scaling"] = rope.DeepClone(),
            ["text_config"] = text, ["vision_config"] = vision,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private sealed class Reader(string? source)
    {
        public int Int(JsonNode? node, string name, int? fallback = null)
        {
            if (node is null) return fallback ?? throw new ConfigurationException($"missing '{name}'.", source);
            try { return node.GetValue<int>(); }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                throw new ConfigurationException($"'{name}' must be an integer, got {node.ToJsonString()}.", source, e);
            }
        }

        /// <summary>An integer, null, or a list of integers (its first is taken, as for <c>eos_token_id</c>).</summary>
        public int? OptionalInt(JsonNode? node, string name)
        {
            if (node is null) return null;
            if (node is JsonArray a) return a.Count > 0 ? Int(a[0], $"{name}[0]") : null;
            return Int(node, name);
        }

        public double Double(JsonNode? node, string name, double fallback)
        {
            if (node is null) return fallback;
            try { return node.GetValue<double>(); }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                throw new ConfigurationException($"'{name}' must be a number, got {node.ToJsonString()}.", source, e);
            }
        }

        public bool Bool(JsonNode? node, string name, bool fallback)
        {
            if (node is null) return fallback;
            try { return node.GetValue<bool>(); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ConfigurationException($"'{name}' must be true or false, got {node.ToJsonString()}.", source, e);
            }
        }

        public string String(JsonNode? node, string name, string fallback)
        {
            if (node is null) return fallback;
            try { return node.GetValue<string>(); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ConfigurationException($"'{name}' must be a string, got {node.ToJsonString()}.", source, e);
            }
        }

        public IReadOnlyList<int> IntList(JsonNode? node, string name)
        {
            if (node is not JsonArray array) throw new ConfigurationException($"missing '{name}' (a list of integers).", source);
            return array.Select((n, i) => Int(n, $"{name}[{i}]")).ToList();
        }
    }
}
