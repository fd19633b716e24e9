using System.Text.Json;
using FineR1.Core.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>Outputs of <see cref="SiglipTextModel"/>.</summary>
/// <param name="LastHiddenState"><c>[B, T, hidden]</c> after <c>final_layer_norm</c>.</param>
/// <param name="PoolerOutput"><c>[B, projection_size]</c>: <c>head</c> applied to the last position (what <c>get_text_features</c> returns).</param>
public sealed record SiglipTextOutput(Tensor LastHiddenState, Tensor PoolerOutput) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() { LastHiddenState.Dispose(); PoolerOutput.Dispose(); }
}

/// <summary>
/// HF <c>SiglipTextModel</c> (the text tower of SigLIP; Fine-R1's open-world metric embeds class names with
/// <c>google/siglip-base-patch16-256</c>'s). Parameter names equal HF's state-dict names
/// (<c>embeddings.token_embedding.weight</c>, <c>encoder.layers.0.self_attn.q_proj.bias</c>, <c>head.weight</c>…).
/// </summary>
public sealed class SiglipTextModel : nn.Module<Tensor, Tensor?, SiglipTextOutput>
{
    /// <summary>Token and position embeddings.</summary>
    public SiglipTextEmbeddings embeddings;
    /// <summary>The transformer layers.</summary>
    public SiglipEncoder encoder;
    /// <summary>Final LayerNorm.</summary>
    public LayerNorm final_layer_norm;
    /// <summary>Projection of the pooled (last) position. <c>[projection_size, hidden]</c> + bias</summary>
    public Linear head;

    /// <summary>The configuration the model was built from.</summary>
    public SiglipTextConfig Config { get; }

    /// <summary>Creates a randomly initialised model (load weights with <see cref="LoadWeights"/> or use <see cref="Load"/>).</summary>
    public SiglipTextModel(SiglipTextConfig config) : base(nameof(SiglipTextModel))
    {
        Config = config;
        embeddings = new SiglipTextEmbeddings(config);
        encoder = new SiglipEncoder(config);
        final_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        head = nn.Linear(config.HiddenSize, config.ProjectionSize);
        RegisterComponents();
    }

    /// <summary>
    /// Runs the tower. <paramref name="inputIds"/> <c>[B, T]</c> int64; <paramref name="attentionMask"/> <c>[B, T]</c>
    /// (1 = attend) or null. SigLIP is used without a mask on inputs padded to <c>max_position_embeddings</c>, and the
    /// pooled output is the LAST position (not the first <c>&lt;/s&gt;</c>), exactly as HF does.
    /// </summary>
    public override SiglipTextOutput forward(Tensor inputIds, Tensor? attentionMask)
    {
        using var scope = NewDisposeScope();
        var h = embeddings.forward(inputIds);                                            // [B, T, hidden]
        Tensor? additive = null;
        if (attentionMask is not null)
        {
            // HF _prepare_4d_attention_mask: (1 - mask) * finfo(dtype).min over the key positions. [B, 1, T, T]
            long t = inputIds.shape[1];
            var keep = attentionMask.to(h.dtype).unsqueeze(1).unsqueeze(1).expand(-1, 1, t, -1);
            additive = (1.0 - keep) * MinValue(h.dtype);
        }
        h = encoder.forward(h, additive);
        var last = final_layer_norm.forward(h);                                          // [B, T, hidden]
        var pooled = head.forward(last.select(1, -1));                                   // [B, projection]
        return new SiglipTextOutput(last.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }

    private static double MinValue(ScalarType t) => t switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>
    /// Loads <c>config.json</c> and the weights of a folder: a text-tower checkpoint (names as HF
    /// <c>SiglipTextModel</c>) or a full <c>SiglipModel</c> checkpoint such as <c>google/siglip-base-patch16-256</c>
    /// (names prefixed <c>text_model.</c>; the vision tower is ignored).
    /// </summary>
    /// <exception cref="FineR1.Core.Configuration.ConfigurationException">Bad config.</exception>
    /// <exception cref="CheckpointException">Missing weights file, missing tensor, or a shape that disagrees with the config.</exception>
    public static SiglipTextModel Load(string folder, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var config = SiglipTextConfig.Load(folder);
        var model = new SiglipTextModel(config);
        model.LoadWeights(folder);
        model.to(dtype);
        if (device is not null) model.to(device);
        model.eval();
        return model;
    }

    /// <summary>
    /// Copies every parameter from the checkpoint at <paramref name="path"/> (folder, <c>.safetensors</c> file or sharded
    /// index) by HF name, converting dtype, through <see cref="CheckpointLoader"/>: names as in a text-tower checkpoint, or
    /// under the <c>text_model.</c> prefix of a full SigLIP checkpoint (whose vision tower and other tensors are skipped).
    /// Every parameter must be present with the configured shape.
    /// </summary>
    /// <exception cref="CheckpointException">Missing files or tensors, corrupt files, or a shape that disagrees with the config.</exception>
    public CheckpointLoadReport LoadWeights(string path)
    {
        using var checkpoint = SafetensorsCheckpoint.Open(path);
        bool fullModel = checkpoint.Tensors.Keys.Any(k => k.StartsWith(FullModelPrefix, StringComparison.Ordinal));
        // Extra tensors (e.g. a position_ids buffer older transformers saved) are skipped, as HF's loader does.
        return CheckpointLoader.Load(this, checkpoint, new CheckpointLoadOptions
        {
            Prefix = fullModel ? FullModelPrefix : null,
            AllowUnexpected = true,
        });
    }

    private const string FullModelPrefix = "text_model.";

}
