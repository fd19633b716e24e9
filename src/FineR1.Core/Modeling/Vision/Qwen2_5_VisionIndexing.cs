using FineR1.Core.Imaging;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Host-side index math of <c>Qwen2_5_VisionTransformerPretrainedModel</c> (HF <c>rot_pos_emb</c> and
/// <c>get_window_index</c>). It depends only on <c>grid_thw</c>, which is tiny, so it runs on the CPU in plain arrays
/// and is uploaded once per forward; no device synchronisation happens per window.
/// </summary>
public static class Qwen2_5_VisionIndexing
{
    /// <summary>
    /// Row and column of every patch, in the order the processor emits patches (HF <c>rot_pos_emb</c> before the
    /// frequency lookup). Patches come in merge blocks: for each block of <c>m × m</c> patches (block rows, then block
    /// columns), the block's patches row by row; the whole frame is repeated for each temporal step.
    /// </summary>
    /// <returns><c>[patches, 2]</c> flattened: <c>(h, w)</c> pairs, all grids concatenated.</returns>
    /// <example>
    /// A 1×4×4 grid with <c>m = 2</c> (four merge blocks) gives the (h, w) sequence
    /// <code>
    /// block (0,0): (0,0) (0,1) (1,0) (1,1)
    /// block (0,1): (0,2) (0,3) (1,2) (1,3)
    /// block (1,0): (2,0) (2,1) (3,0) (3,1)
    /// block (1,1): (2,2) (2,3) (3,2) (3,3)
    /// </code>
    /// A 1×6×8 grid gives 12 blocks (3 block rows × 4 block columns) of 4 patches in the same way: patch 4 is (0,2),
    /// patch 16 is (2,0), patch 47 is (5,7).
    /// </example>
    public static long[] RotaryPositionIds(IReadOnlyList<VisionGrid> grids, int spatialMergeSize)
    {
        long m = spatialMergeSize;
        long total = grids.Sum(g => (long)g.PatchCount);
        var ids = new long[total * 2];
        long k = 0;
        foreach (var g in grids)
            for (long t = 0; t < g.T; t++)
                for (long bh = 0; bh < g.H / m; bh++)
                    for (long bw = 0; bw < g.W / m; bw++)
                        for (long ih = 0; ih < m; ih++)
                            for (long iw = 0; iw < m; iw++)
                            {
                                ids[k++] = bh * m + ih;
                                ids[k++] = bw * m + iw;
                            }
        return ids;
    }

    /// <summary>
    /// HF <c>get_window_index</c>: the order in which merged tokens (groups of <c>m × m</c> patches) are visited
    /// window by window, and the cumulative patch counts that delimit the windows
    /// (<c>cu_window_seqlens</c>, already passed through <c>unique_consecutive</c>, so empty windows vanish).
    /// </summary>
    /// <param name="grids">The <c>grid_thw</c> rows.</param>
    /// <param name="windowSize">Window side in pixels (<c>window_size</c>).</param>
    /// <param name="spatialMergeSize">Merge size <c>m</c>.</param>
    /// <param name="patchSize">Patch side in pixels.</param>
    /// <returns>
    /// <c>WindowIndex</c>: for each position of the windowed order, the merged-token index it takes (all images, offset
    /// by the tokens of earlier images). <c>CuWindowSeqlens</c>: patch boundaries of the windows, starting at 0.
    /// </returns>
    /// <example>
    /// Grid 1×6×8, <c>window_size</c> 56 px, patch 14, m = 2: a window is 56 / 2 / 14 = 2 × 2 merged tokens.
    /// The merged grid is 3 × 4:
    /// <code>
    ///  0  1  2  3
    ///  4  5  6  7
    ///  8  9 10 11
    /// </code>
    /// HF always pads by <c>ws - n % ws</c> (a whole empty window when <c>n</c> divides evenly): 1 row and 2 columns,
    /// giving 2 × 3 windows read row-major: [0 1 4 5] [2 3 6 7] [] [8 9] [10 11] [].
    /// So <c>WindowIndex = [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11]</c>, window sizes in merged tokens
    /// [4, 4, 0, 2, 2, 0], times m² = 4 patches, cumulated: [0, 16, 32, 32, 40, 48, 48], and after
    /// <c>unique_consecutive</c> <c>CuWindowSeqlens = [0, 16, 32, 40, 48]</c>.
    /// </example>
    public static (long[] WindowIndex, long[] CuWindowSeqlens) GetWindowIndex(
        IReadOnlyList<VisionGrid> grids, int windowSize, int spatialMergeSize, int patchSize)
    {
        long ws = windowSize / spatialMergeSize / patchSize;   // window side in merged tokens
        if (ws <= 0)
            throw new ArgumentException(
                $"window_size {windowSize} is smaller than one merged token ({spatialMergeSize} x {patchSize} px).", nameof(windowSize));
        long unit = (long)spatialMergeSize * spatialMergeSize;
        var windowIndex = new List<long>();
        var cu = new List<long> { 0 };
        long offset = 0;
        foreach (var g in grids)
        {
            long lh = g.H / spatialMergeSize, lw = g.W / spatialMergeSize;
            long padH = ws - lh % ws, padW = ws - lw % ws;
            long windowsH = (lh + padH) / ws, windowsW = (lw + padW) / ws;
            for (long t = 0; t < g.T; t++)
                for (long wh = 0; wh < windowsH; wh++)
                    for (long ww = 0; ww < windowsW; ww++)
                    {
                        long count = 0;
                        for (long r = wh * ws; r < Math.Min((wh + 1) * ws, lh); r++)
                            for (long c = ww * ws; c < Math.Min((ww + 1) * ws, lw); c++)
                            {
                                windowIndex.Add(offset + (t * lh + r) * lw + c);
                                count++;
                            }
                        long end = cu[^1] + count * unit;
                        if (end != cu[^1]) cu.Add(end);   // unique_consecutive: empty windows add nothing
                    }
            offset += g.T * lh * lw;
        }
        return (windowIndex.ToArray(), cu.ToArray());
    }

    /// <summary>
    /// <c>cu_seqlens</c> of the full-attention blocks: one segment per frame (<c>h · w</c> patches, repeated <c>t</c>
    /// times per grid), starting at 0. Example: grids (1,6,8) and (2,4,4) give [0, 48, 64, 80].
    /// </summary>
    public static long[] FullAttentionCuSeqlens(IReadOnlyList<VisionGrid> grids)
    {
        var cu = new List<long> { 0 };
        foreach (var g in grids)
            for (long t = 0; t < g.T; t++) cu.Add(cu[^1] + g.H * g.W);
        return cu.ToArray();
    }

    /// <summary>Inverse of a permutation (HF <c>argsort(window_index)</c>): <c>inv[perm[i]] = i</c>.</summary>
    public static long[] Inverse(IReadOnlyList<long> permutation)
    {
        var inv = new long[permutation.Count];
        for (int i = 0; i < inv.Length; i++) inv[permutation[i]] = i;
        return inv;
    }

    /// <summary>
    /// Expands a merged-token permutation to patches: merged token <c>j</c> owns patches <c>j·u … j·u + u − 1</c>
    /// (<c>u = m²</c>), which keep their inner order (HF reshapes to <c>[S/u, u, D]</c> before indexing).
    /// </summary>
    public static long[] ExpandToPatches(IReadOnlyList<long> mergedIndex, int spatialMergeUnit)
    {
        var patches = new long[mergedIndex.Count * spatialMergeUnit];
        for (int i = 0; i < mergedIndex.Count; i++)
            for (int u = 0; u < spatialMergeUnit; u++)
                patches[i * spatialMergeUnit + u] = mergedIndex[i] * spatialMergeUnit + u;
        return patches;
    }
}
