using static TorchSharp.torch;

namespace FineR1.Core.Imaging;

/// <summary>
/// One image's (or video's) patch grid, a row of HF's <c>image_grid_thw</c> / <c>grid_thw</c>: <c>T</c> temporal ×
/// <c>H</c> rows × <c>W</c> columns of 14-px patches. The image processor produces it, the chat template sizes the
/// image-pad block from it, generation and training carry it, and the vision tower reads it back from the
/// <c>[images, 3]</c> tensor its forward takes.
/// </summary>
/// <example>A 448×336 image after <c>smart_resize</c>: grid (1, 24, 32) → 768 patch rows of <c>pixel_values</c> →
/// 768 / 2² = 192 <c>&lt;|image_pad|&gt;</c> tokens.</example>
/// <param name="T">Temporal patches (1 for an image).</param>
/// <param name="H">Patch rows.</param>
/// <param name="W">Patch columns.</param>
public readonly record struct VisionGrid(int T, int H, int W)
{
    /// <summary>Rows of <c>pixel_values</c> this grid contributes: <c>T · H · W</c>.</summary>
    public int PatchCount => T * H * W;

    /// <summary>LLM tokens after the patch merger: <c>T · H · W / mergeSize²</c> (the number of <c>&lt;|image_pad|&gt;</c> tokens).</summary>
    /// <exception cref="ArgumentException">A size is not positive or <c>T · H · W</c> is not a multiple of merge².</exception>
    public int TokenCount(int mergeSize = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mergeSize);
        if (T <= 0 || H <= 0 || W <= 0) throw new ArgumentException($"Vision grid ({T}, {H}, {W}) must be positive.");
        var patches = (long)T * H * W;
        if (patches % (mergeSize * mergeSize) != 0)
            throw new ArgumentException($"Vision grid ({T}, {H}, {W}) has {patches} patches, not a multiple of merge² = {mergeSize * mergeSize}.");
        return checked((int)(patches / (mergeSize * mergeSize)));
    }

    /// <summary>The grids as the <c>[images, 3]</c> int64 tensor (CPU) the model's forward takes as <c>image_grid_thw</c>.</summary>
    public static Tensor ToTensor(IReadOnlyList<VisionGrid> grids)
    {
        ArgumentNullException.ThrowIfNull(grids);
        var values = new long[grids.Count * 3];
        for (int i = 0; i < grids.Count; i++) (values[3 * i], values[3 * i + 1], values[3 * i + 2]) = (grids[i].T, grids[i].H, grids[i].W);
        return tensor(values, [grids.Count, 3], ScalarType.Int64);
    }

    /// <summary>
    /// Reads <c>grid_thw</c> (<c>[images, 3]</c>, any integer dtype, any device: one small host copy) and checks that
    /// every grid is positive and that <c>h</c> and <c>w</c> are multiples of <paramref name="spatialMergeSize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape or dtype, or a grid the merger cannot fold.</exception>
    public static VisionGrid[] Read(Tensor gridThw, int spatialMergeSize)
    {
        ArgumentNullException.ThrowIfNull(gridThw);
        if (gridThw.dim() != 2 || gridThw.shape[1] != 3)
            throw new ArgumentException($"grid_thw must be [images, 3], got [{string.Join(", ", gridThw.shape)}].", nameof(gridThw));
        if (gridThw.is_floating_point() || gridThw.dtype == ScalarType.Bool)
            throw new ArgumentException($"grid_thw must hold integers, got {gridThw.dtype}.", nameof(gridThw));
        using var host = gridThw.to(ScalarType.Int64, CPU).contiguous();
        var values = host.data<long>().ToArray();
        var grids = new VisionGrid[gridThw.shape[0]];
        for (int i = 0; i < grids.Length; i++)
        {
            long t = values[3 * i], h = values[3 * i + 1], w = values[3 * i + 2];
            if (t <= 0 || h <= 0 || w <= 0 || t > int.MaxValue || h > int.MaxValue || w > int.MaxValue)
                throw new ArgumentException($"grid_thw[{i}] = ({t}, {h}, {w}) must be positive (and fit in 32 bits).", nameof(gridThw));
            if (h % spatialMergeSize != 0 || w % spatialMergeSize != 0)
                throw new ArgumentException(
                    $"grid_thw[{i}] = ({t}, {h}, {w}): h and w must be multiples of spatial_merge_size {spatialMergeSize}.",
                    nameof(gridThw));
            grids[i] = new VisionGrid((int)t, (int)h, (int)w);
        }
        return grids;
    }
}
