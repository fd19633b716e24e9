namespace FineR1.Core.Configuration;

/// <summary>
/// Vision tower hyper-parameters (HF <c>Qwen2_5_VLVisionConfig</c>; JSON names in comments).
/// </summary>
public sealed record Qwen2_5_VLVisionConfig
{
    /// <summary><c>depth</c>: number of vision blocks (32 in 3B/7B).</summary>
    public int Depth { get; init; } = 32;
    /// <summary><c>hidden_size</c> of the vision blocks (1280).</summary>
    public int HiddenSize { get; init; } = 1280;
    /// <summary><c>intermediate_size</c> of the vision SwiGLU MLP (3420).</summary>
    public int IntermediateSize { get; init; } = 3420;
    /// <summary><c>num_heads</c> (16).</summary>
    public int NumHeads { get; init; } = 16;
    /// <summary><c>in_channels</c> / <c>in_chans</c> (3).</summary>
    public int InChannels { get; init; } = 3;
    /// <summary><c>patch_size</c> in pixels (14).</summary>
    public int PatchSize { get; init; } = 14;
    /// <summary><c>spatial_merge_size</c>: the merger folds 2×2 patches into one LLM token.</summary>
    public int SpatialMergeSize { get; init; } = 2;
    /// <summary><c>temporal_patch_size</c>: frames per patch; an image is duplicated to fill it (2).</summary>
    public int TemporalPatchSize { get; init; } = 2;
    /// <summary><c>window_size</c> in pixels of the window attention (112 = 4×4 merged tokens).</summary>
    public int WindowSize { get; init; } = 112;
    /// <summary><c>fullatt_block_indexes</c>: blocks that attend over the whole image ([7, 15, 23, 31]).</summary>
    public IReadOnlyList<int> FullAttentionBlockIndexes { get; init; } = [7, 15, 23, 31];
    /// <summary><c>out_hidden_size</c>: merger output = the text hidden size.</summary>
    public int OutHiddenSize { get; init; } = 2048;
    /// <summary><c>tokens_per_second</c> (videos only; kept for completeness).</summary>
    public int TokensPerSecond { get; init; } = 2;
    /// <summary><c>hidden_act</c> (silu).</summary>
    public string HiddenAct { get; init; } = "silu";
    /// <summary>Vision 2-D rotary base (<c>rope_parameters.rope_theta</c> in 5.x; 10000).</summary>
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>RMSNorm epsilon of the vision blocks and merger (HF hard-codes 1e-6).</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>Per-head dimension.</summary>
    public int HeadDim => HiddenSize / NumHeads;
    /// <summary>Values per flattened patch: channels × temporal × patch × patch (1176).</summary>
    public int PatchInputSize => InChannels * TemporalPatchSize * PatchSize * PatchSize;
}
