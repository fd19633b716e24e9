using FineR1.Core.Modeling;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Text;

public sealed class RopeIndexTests
{
    private const int Start = 98, End = 99, Image = 100, Video = 101;

    private static (long[,,] Positions, long[] Deltas) Run(long[][] rows, long[,]? grids, bool leftPad = true)
    {
        int length = rows.Max(r => r.Length);
        var ids = new long[rows.Length * length];
        var mask = new long[rows.Length * length];
        for (int r = 0; r < rows.Length; r++)
            for (int j = 0; j < length; j++)
            {
                int k = j - (length - rows[r].Length);
                ids[r * length + j] = k < 0 ? 0 : rows[r][k];
                mask[r * length + j] = k < 0 ? 0 : 1;
            }
        using var idsT = tensor(ids, [rows.Length, length]);
        using var maskT = tensor(mask, [rows.Length, length]);
        using var gridT = grids is null ? null : tensor(grids.Cast<long>().ToArray(), [grids.GetLength(0), 3]);
        var (p, d) = RopeIndex.GetRopeIndex(idsT, gridT, leftPad ? maskT : null, 2, Image, Start, Video);
        var flat = p.data<long>().ToArray();
        var result = new long[3, rows.Length, length];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(long));
        return (result, d.data<long>().ToArray());
    }

    private static long[] Axis(long[,,] p, int axis, int row) =>
        Enumerable.Range(0, p.GetLength(2)).Select(j => p[axis, row, j]).ToArray();

    [Fact]
    public void TwoImagesInOneRow_FollowHFLayout()
    {
        // text, <vs>, 2×2 image, <ve>, text, <vs>, 1×3 image, <ve>, text
        long[] row = [5, Start, Image, Image, Image, Image, End, 6, Start, Image, Image, Image, End, 7];
        var (p, d) = Run([row], new long[,] { { 1, 4, 4 }, { 1, 2, 6 } });
        Assert.Equal([0, 1, 2, 2, 2, 2, 4, 5, 6, 7, 7, 7, 10, 11], Axis(p, 0, 0));
        Assert.Equal([0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 7, 7, 10, 11], Axis(p, 1, 0));
        Assert.Equal([0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Axis(p, 2, 0));
        Assert.Equal([12L - 14], d);
    }

    [Fact]
    public void LeftPadding_GivesEachRowItsUnpaddedPositions_AndPadsOne()
    {
        long[] a = [5, Start, Image, Image, Image, Image, End, 6, 7];
        long[] b = [8, 9, 10];
        var grid = new long[,] { { 1, 4, 4 } };
        var (batch, deltas) = Run([a, b], grid);
        var (alone, aloneDelta) = Run([a], grid);
        var (textAlone, textDelta) = Run([b], null);
        for (int axis = 0; axis < 3; axis++)
        {
            Assert.Equal(Axis(alone, axis, 0), Axis(batch, axis, 0));
            Assert.Equal([1, 1, 1, 1, 1, 1, .. Axis(textAlone, axis, 0)], Axis(batch, axis, 1));
        }
        Assert.Equal(aloneDelta[0], deltas[0]);
        Assert.Equal(3 - 9, deltas[1]);        // 3 real tokens, padded length 9
        Assert.Equal(0, textDelta[0]);
    }

    [Fact]
    public void TextOnly_WithoutMask_IsArange_WithZeroDelta()
    {
        var (p, d) = Run([[1, 2, 3, 4]], null, leftPad: false);
        for (int axis = 0; axis < 3; axis++) Assert.Equal([0, 1, 2, 3], Axis(p, axis, 0));
        Assert.Equal([0L], d);
    }

    [Fact]
    public void DecodePositions_AddCacheLengthAndDelta()
    {
        using var deltas = tensor(new long[] { -8, 0 }, [2, 1]);
        using var p = RopeIndex.DecodePositions(deltas, past: 23, steps: 2);
        Assert.Equal([3, 2, 2], p.shape);
        Assert.Equal([15, 16, 23, 24, 15, 16, 23, 24, 15, 16, 23, 24], p.data<long>().ToArray());
    }

    [Fact]
    public void MoreImagesThanGrids_Throws()
    {
        long[] row = [Start, Image, Image, Image, Image, End, Start, Image, Image, Image, Image, End];
        var e = Assert.Throws<ArgumentException>(() => Run([row], new long[,] { { 1, 4, 4 } }));
        Assert.Contains("image_grid_thw", e.Message);
    }

    [Fact]
    public void UnusedGrids_Throw()
    {
        long[] row = [Start, Image, Image, Image, Image, End];
        var e = Assert.Throws<ArgumentException>(() => Run([row], new long[,] { { 1, 4, 4 }, { 1, 4, 4 } }));
        Assert.Contains("2 rows", e.Message);
    }

    [Fact]
    public void VideoBlock_IsRejected()
    {
        long[] row = [Start, Video, End];
        var e = Assert.Throws<ArgumentException>(() => Run([row], new long[,] { { 1, 2, 2 } }));
        Assert.Contains("video", e.Message);
    }
}
