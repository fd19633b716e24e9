using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>One image's (or video's) patch grid: <c>t</c> temporal × <c>h</c> rows × <c>w</c> columns of patches.</summary>
/// <param name="T">Temporal patches (1 for an image).</param>
/// <param name="H">Patch rows.</param>
/// <param name="W">Patch columns.</param>
public readonly record struct VisionGrid(long T, long H, long W)
{
    /// <summary>Patches in this grid: <c>t · h · w</c>.</summary>
    public long Patches => T * H * W;

    /// <summary>
    /// Reads <c>grid_thw</c> (<c>[images, 3]</c>, any integer dtype, any device: one small host copy) and checks that
    /// every grid is positive and that <c>h</c> and <c>w</c> are multiples of <paramref name="spatialMergeSize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong shape or dtype, or a grid the merger cannot fold.</exception>
    public static VisionGrid[] Read(Tensor gridThw, int spatialMergeSize)
    {
        if (gridThw.dim() != 2 || gridThw.shape[1] != 3)
            throw new ArgumentException($"grid_thw must be [images, 3], got [{string.Join(", ", gridThw.shape)}].", nameof(gridThw));
        if (gridThw.is_floating_point() || gridThw.dtype == ScalarType.Bool)
            throw new ArgumentException($"grid_thw must hold integers, got {gridThw.dtype}.", nameof(gridThw));
        using var host = gridThw.to(ScalarType.Int64, CPU).contiguous();
        var values = host.data<long>().ToArray();
        var grids = new VisionGrid[gridThw.shape[0]];
        for (int i = 0; i < grids.Length; i++)
        {
            var g = new VisionGrid(values[3 * i], values[3 * i + 1], values[3 * i + 2]);
            if (g.T <= 0 || g.H <= 0 || g.W <= 0)
                throw new ArgumentException($"grid_thw[{i}] = ({g.T}, {g.H}, {g.W}) must be positive.", nameof(gridThw));
            if (g.H % spatialMergeSize != 0 || g.W % spatialMergeSize != 0)
                throw new ArgumentException(
                    $"grid_thw[{i}] = ({g.T}, {g.H}, {g.W}): h and w must be multiples of spatial_merge_size {spatialMergeSize}.",
                    nameof(gridThw));
            grids[i] = g;
        }
        return grids;
    }
}
