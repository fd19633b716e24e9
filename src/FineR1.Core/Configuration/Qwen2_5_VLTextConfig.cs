namespace FineR1.Core.Configuration;

/// <summary>
/// Text decoder hyper-parameters (HF <c>Qwen2_5_VLTextConfig</c>; JSON names in comments).
/// </summary>
public sealed record Qwen2_5_VLTextConfig
{
    /// <summary><c>vocab_size</c> (151936 in 3B, 152064 in 7B).</summary>
    public int VocabSize { get; init; } = 151936;
    /// <summary><c>hidden_size</c> (2048 / 3584).</summary>
    public int HiddenSize { get; init; } = 2048;
    /// <summary><c>intermediate_size</c> (11008 / 18944).</summary>
    public int IntermediateSize { get; init; } = 11008;
    /// <summary><c>num_hidden_layers</c> (36 / 28).</summary>
    public int NumHiddenLayers { get; init; } = 36;
    /// <summary><c>num_attention_heads</c> (16 / 28).</summary>
    public int NumAttentionHeads { get; init; } = 16;
    /// <summary><c>num_key_value_heads</c> for grouped-query attention (2 / 4).</summary>
    public int NumKeyValueHeads { get; init; } = 2;
    /// <summary><c>rms_norm_eps</c> (1e-6).</summary>
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary><c>rope_theta</c> (1e6); 5.x: <c>rope_parameters.rope_theta</c>.</summary>
    public double RopeTheta { get; init; } = 1_000_000.0;
    /// <summary><c>mrope_section</c>: rotary half-dims given to (temporal, height, width) ([16, 24, 24]).</summary>
    public IReadOnlyList<int> MropeSection { get; init; } = [16, 24, 24];
    /// <summary><c>max_position_embeddings</c> (128000).</summary>
    public int MaxPositionEmbeddings { get; init; } = 128000;
    /// <summary><c>tie_word_embeddings</c>: <c>lm_head</c> shares <c>embed_tokens</c> (3B: true, 7B: false).</summary>
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary><c>hidden_act</c> (silu).</summary>
    public string HiddenAct { get; init; } = "silu";
    /// <summary><c>bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; } = 151643;
    /// <summary><c>eos_token_id</c>.</summary>
    public int? EosTokenId { get; init; } = 151645;

    /// <summary>Per-head dimension (<c>hidden_size / num_attention_heads</c>; 128).</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;
}
