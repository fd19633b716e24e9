using FineR1.Core.Imaging;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// The Qwen2.5-VL vision tower (HF <c>Qwen2_5_VisionTransformerPretrainedModel</c>, <c>model.visual</c>): patch
/// embedding, <c>depth</c> blocks of windowed or full attention with 2-D rotary positions, and the patch merger.
/// Parameter names match HF relative to <c>model.visual.</c> (4.x checkpoints: <c>visual.</c>).
/// </summary>
/// <remarks>
/// Forward, as HF: embed patches; reorder merge blocks window by window (<see cref="get_window_index"/>); run the
/// blocks, those in <c>fullatt_block_indexes</c> attending within each frame, the others within each window; merge
/// 2×2 patches; undo the window order. Works in float32 and bfloat16 on any device; index math runs on the host
/// from <c>grid_thw</c> (one tiny copy) and is uploaded once per call.
/// </remarks>
public sealed class Qwen2_5_VisionTransformerPretrainedModel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Qwen2_5_VLVisionConfig _config;
    private readonly HashSet<int> _fullAttentionBlocks;
    private readonly int _spatialMergeUnit;

    /// <summary>Patch embedding (<c>patch_embed.proj.weight</c>).</summary>
    public Qwen2_5_VisionPatchEmbed patch_embed;
    /// <summary>Rotary frequency generator (no parameters, no persistent buffers).</summary>
    public Qwen2_5_VisionRotaryEmbedding rotary_pos_emb;
    /// <summary>The transformer blocks (<c>blocks.N.…</c>).</summary>
    public ModuleList<Qwen2_5_VLVisionBlock> blocks;
    /// <summary>The patch merger (<c>merger.…</c>).</summary>
    public Qwen2_5_VLPatchMerger merger;

    /// <summary>The configuration the tower was built from.</summary>
    public Qwen2_5_VLVisionConfig Config => _config;

    /// <summary>
    /// Recompute each block in backward instead of keeping its activations. Applies only in training mode with grad
    /// enabled; outputs and gradients are unchanged (no dropout). Off by default.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Builds the tower with freshly initialised weights on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    /// <exception cref="ConfigurationException">The configuration is inconsistent.</exception>
    public Qwen2_5_VisionTransformerPretrainedModel(Qwen2_5_VLVisionConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VisionTransformerPretrainedModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        // Qwen2_5_VLConfig.Validate checks these for a loaded config.json; a vision config built in code is checked here.
        if (config.HiddenSize % config.NumHeads != 0)
            throw new ConfigurationException($"vision hidden_size {config.HiddenSize} is not divisible by num_heads {config.NumHeads}.");
        if (config.HeadDim % 4 != 0)
            throw new ConfigurationException($"vision head_dim {config.HeadDim} must be a multiple of 4 for the 2-D rotary embedding.");
        if (config.WindowSize / config.SpatialMergeSize / config.PatchSize <= 0)
            throw new ConfigurationException($"vision window_size {config.WindowSize} is smaller than one merged token.");
        _config = config;
        _fullAttentionBlocks = [.. config.FullAttentionBlockIndexes];
        _spatialMergeUnit = config.SpatialMergeSize * config.SpatialMergeSize;

        patch_embed = new Qwen2_5_VisionPatchEmbed(config.PatchSize, config.TemporalPatchSize, config.InChannels,
            config.HiddenSize, device, dtype);
        rotary_pos_emb = new Qwen2_5_VisionRotaryEmbedding(config.HeadDim / 2, config.RopeTheta);
        blocks = new ModuleList<Qwen2_5_VLVisionBlock>();
        for (int i = 0; i < config.Depth; i++) blocks.Add(new Qwen2_5_VLVisionBlock(config, device, dtype));
        merger = new Qwen2_5_VLPatchMerger(config.OutHiddenSize, config.HiddenSize, config.SpatialMergeSize,
            config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>Encodes all images of a batch.</summary>
    /// <param name="pixelValues"><c>[patches, C·T·P·P]</c> (1176 for Qwen2.5-VL), images concatenated in order,
    /// as <c>Qwen2VLImageProcessor</c> emits them.</param>
    /// <param name="gridThw">int64 <c>[images, 3]</c>: (t, h, w) in patches per image.</param>
    /// <returns><c>[patches / m², out_hidden_size]</c>: merged tokens of all images in order.</returns>
    /// <exception cref="ArgumentException">Shapes disagree with each other or with the configuration.</exception>
    public override Tensor forward(Tensor pixelValues, Tensor gridThw)
    {
        using var scope = NewDisposeScope();
        var grids = VisionGrid.Read(gridThw, _config.SpatialMergeSize);
        long patches = grids.Sum(g => (long)g.PatchCount);
        if (pixelValues.dim() != 2 || pixelValues.shape[0] != patches || pixelValues.shape[1] != _config.PatchInputSize)
            throw new ArgumentException(
                $"pixel_values must be [{patches}, {_config.PatchInputSize}] for grid_thw {string.Join(" ", grids.Select(g => $"({g.T},{g.H},{g.W})"))}, " +
                $"got [{string.Join(", ", pixelValues.shape)}].", nameof(pixelValues));
        var device = patch_embed.proj.weight!.device;

        var (windowIndex, cuWindowSeqlens) = Qwen2_5_VisionIndexing.GetWindowIndex(
            grids, _config.WindowSize, _config.SpatialMergeSize, _config.PatchSize);
        var patchOrder = Qwen2_5_VisionIndexing.ExpandToPatches(windowIndex, _spatialMergeUnit);   // windowed → original patch
        var patchOrderT = tensor(patchOrder, dtype: ScalarType.Int64, device: device);

        var hidden = patch_embed.forward(pixelValues).index_select(0, patchOrderT);   // [S, hidden], windowed order
        var (cos, sin) = PositionEmbeddings(grids, patchOrderT, device);             // float32 [S, head_dim] each

        var windowChunks = new VisionAttentionChunks(cuWindowSeqlens, device);
        var fullChunks = new VisionAttentionChunks(Qwen2_5_VisionIndexing.FullAttentionCuSeqlens(grids), device);
        bool checkpoint = GradientCheckpointing && training && is_grad_enabled();
        if (checkpoint) KeepForBackward(windowChunks, fullChunks);
        for (int i = 0; i < blocks.Count; i++)
        {
            var chunks = _fullAttentionBlocks.Contains(i) ? fullChunks : windowChunks;
            hidden = checkpoint ? CheckpointedBlock(blocks[i], hidden, chunks, cos, sin) : blocks[i].forward(hidden, chunks, cos, sin);
        }

        var merged = merger.forward(hidden);                                          // [S/m², out], windowed order
        var reverse = tensor(Qwen2_5_VisionIndexing.Inverse(windowIndex), dtype: ScalarType.Int64, device: device);
        return merged.index_select(0, reverse).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF <c>rot_pos_emb</c>: float32 rotary angles <c>[patches, head_dim / 2]</c> in the processor's patch order
    /// (first half from the patch row, second half from the patch column).
    /// </summary>
    /// <example>
    /// Grid 1×6×8, head_dim 16: the table has rows 0…7 (the largest of h, w) of 4 frequencies. Patch 4 sits at
    /// (h, w) = (0, 2) (first patch of the second merge block, see <see cref="Qwen2_5_VisionIndexing.RotaryPositionIds"/>),
    /// so its row is <c>[table[0], table[2]]</c> = <c>[0, 0, 0, 0, 2·f0, 2·f1, 2·f2, 2·f3]</c> with
    /// <c>f_i = 10000^(-2i/8)</c>.
    /// </example>
    public Tensor rot_pos_emb(Tensor gridThw)
    {
        using var scope = NewDisposeScope();
        var grids = VisionGrid.Read(gridThw, _config.SpatialMergeSize);
        var device = patch_embed.proj.weight!.device;
        return RotaryAngles(grids, null, device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF <c>get_window_index</c> for <paramref name="gridThw"/>; see <see cref="Qwen2_5_VisionIndexing.GetWindowIndex"/>
    /// for the worked 1×6×8 example (window 56 px gives <c>[0,1,4,5,2,3,6,7,8,9,10,11]</c> and
    /// <c>[0,16,32,40,48]</c>).
    /// </summary>
    public (long[] WindowIndex, long[] CuWindowSeqlens) get_window_index(Tensor gridThw) =>
        Qwen2_5_VisionIndexing.GetWindowIndex(VisionGrid.Read(gridThw, _config.SpatialMergeSize),
            _config.WindowSize, _config.SpatialMergeSize, _config.PatchSize);

    /// <summary>Rotary angles, optionally reordered by <paramref name="patchOrder"/>: float32 <c>[S, head_dim / 2]</c>.</summary>
    private Tensor RotaryAngles(VisionGrid[] grids, Tensor? patchOrder, Device device)
    {
        using var scope = NewDisposeScope();
        long maxGrid = grids.Max(g => Math.Max(g.H, g.W));
        var table = rotary_pos_emb.forward(maxGrid, device);                          // [maxGrid, head_dim/4]
        var ids = tensor(Qwen2_5_VisionIndexing.RotaryPositionIds(grids, _config.SpatialMergeSize),
            dtype: ScalarType.Int64, device: device).view(-1, 2);                      // [S, 2] (h, w)
        if (patchOrder is not null) ids = ids.index_select(0, patchOrder);
        var angles = table.index_select(0, ids.reshape(-1)).view(ids.shape[0], -1);   // [S, head_dim/2]
        return angles.MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="block"/> through <see cref="GradientCheckpoint"/>; cos/sin go in as inputs so the autograd
    /// node keeps them alive until backward.</summary>
    private static Tensor CheckpointedBlock(Qwen2_5_VLVisionBlock block, Tensor hidden, VisionAttentionChunks chunks, Tensor cos, Tensor sin) =>
        GradientCheckpoint.Apply(xs => block.forward(xs[0], chunks, xs[1], xs[2]), [hidden, cos, sin], block.parameters().ToList());

    /// <summary>The chunks' index tensors are used again by the recompute in backward, after this forward's dispose
    /// scope has ended: take them out of it (int64 <c>[S]</c> each, freed by the GC with the autograd closure).</summary>
    private static void KeepForBackward(params VisionAttentionChunks[] chunks)
    {
        foreach (var c in chunks)
        {
            c.Gather?.DetachFromDisposeScope();
            c.Scatter?.DetachFromDisposeScope();
        }
    }

    private (Tensor Cos, Tensor Sin) PositionEmbeddings(VisionGrid[] grids, Tensor patchOrder, Device device)
    {
        using var scope = NewDisposeScope();
        var angles = RotaryAngles(grids, patchOrder, device);
        var emb = cat([angles, angles], -1);                                          // [S, head_dim]
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }
}
