using FineR1.Core.Imaging;
using FineR1.Core.Native;
using FineR1.Core.Modeling.Vision;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Vision;

/// <summary>Window and position index math against permutations worked out by hand (see the doc comments).</summary>
public class Qwen2_5_VisionIndexingTests
{
    // The first TorchSharp call may come before any FineR1.Core type is touched: install the native fix first.
    public Qwen2_5_VisionIndexingTests() => TorchSharpNativeLoader.EnsureInstalled();

    private static (long[], long[]) Window(int windowSize, params VisionGrid[] grids) =>
        Qwen2_5_VisionIndexing.GetWindowIndex(grids, windowSize, spatialMergeSize: 2, patchSize: 14);

    [Fact]
    public void Grid_1x6x8_window_56_pads_a_row_and_an_empty_window_column()
    {
        // Merged grid 3×4, windows of 2×2 merged tokens, padded to 4×6:
        //  0  1 |  2  3 | .  .
        //  4  5 |  6  7 | .  .
        //  8  9 | 10 11 | .  .
        //  .  . |  .  . | .  .
        var (index, cu) = Window(56, new VisionGrid(1, 6, 8));
        Assert.Equal([0L, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11], index);
        Assert.Equal([0L, 16, 32, 40, 48], cu);
    }

    [Fact]
    public void Grid_1x8x12_window_56_visits_six_full_windows_row_by_row()
    {
        //  0  1 |  2  3 |  4  5
        //  6  7 |  8  9 | 10 11
        // ------+-------+------
        // 12 13 | 14 15 | 16 17
        // 18 19 | 20 21 | 22 23
        var (index, cu) = Window(56, new VisionGrid(1, 8, 12));
        Assert.Equal([0L, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, 12, 13, 18, 19, 14, 15, 20, 21, 16, 17, 22, 23], index);
        Assert.Equal([0L, 16, 32, 48, 64, 80, 96], cu);
    }

    [Fact]
    public void Grid_1x6x10_window_112_has_edge_windows_of_unequal_size()
    {
        // Merged grid 3×5, windows of 4×4 merged tokens: one window holds all of columns 0–3, the next column 4.
        //  0  1  2  3 |  4
        //  5  6  7  8 |  9
        // 10 11 12 13 | 14
        var (index, cu) = Window(112, new VisionGrid(1, 6, 10));
        Assert.Equal([0L, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 4, 9, 14], index);
        Assert.Equal([0L, 48, 60], cu);
    }

    [Fact]
    public void Second_image_is_offset_by_the_merged_tokens_of_the_first()
    {
        var (index, cu) = Window(56, new VisionGrid(1, 6, 8), new VisionGrid(1, 4, 4));
        Assert.Equal([0L, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], index);
        Assert.Equal([0L, 16, 32, 40, 48, 64], cu);
    }

    [Fact]
    public void Temporal_steps_are_windowed_frame_by_frame()
    {
        // Two frames of a 2×2 merged grid; each frame is one window.
        var (index, cu) = Window(56, new VisionGrid(2, 4, 4));
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7], index);
        Assert.Equal([0L, 16, 32], cu);
        Assert.Equal([0L, 16, 32], Qwen2_5_VisionIndexing.FullAttentionCuSeqlens([new VisionGrid(2, 4, 4)]));
    }

    [Fact]
    public void Full_attention_segments_are_frames()
    {
        Assert.Equal([0L, 48, 64, 80],
            Qwen2_5_VisionIndexing.FullAttentionCuSeqlens([new VisionGrid(1, 6, 8), new VisionGrid(2, 4, 4)]));
    }

    [Fact]
    public void Window_index_expands_to_patch_blocks_and_inverts()
    {
        Assert.Equal([8L, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7], Qwen2_5_VisionIndexing.ExpandToPatches([2L, 0, 1], 4));
        Assert.Equal([1L, 2, 0], Qwen2_5_VisionIndexing.Inverse([2L, 0, 1]));
    }

    [Fact]
    public void Rotary_position_ids_walk_merge_blocks()
    {
        var ids = Qwen2_5_VisionIndexing.RotaryPositionIds([new VisionGrid(1, 4, 4)], 2);
        long[] expected =
        [
            0, 0, 0, 1, 1, 0, 1, 1,
            0, 2, 0, 3, 1, 2, 1, 3,
            2, 0, 2, 1, 3, 0, 3, 1,
            2, 2, 2, 3, 3, 2, 3, 3,
        ];
        Assert.Equal(expected, ids);
        var big = Qwen2_5_VisionIndexing.RotaryPositionIds([new VisionGrid(1, 6, 8)], 2);
        Assert.Equal((0L, 2L), (big[2 * 4], big[2 * 4 + 1]));
        Assert.Equal((2L, 0L), (big[2 * 16], big[2 * 16 + 1]));
        Assert.Equal((5L, 7L), (big[2 * 47], big[2 * 47 + 1]));
    }

    [Fact]
    public void Rot_pos_emb_concatenates_row_and_column_angles()
    {
        using var scope = NewDisposeScope();
        using var model = new Qwen2_5_VisionTransformerPretrainedModel(VisionFixture.Config());   // head_dim 16
        var angles = model.rot_pos_emb(VisionFixture.Grid([1, 6, 8]));
        Assert.Equal([48L, 8L], angles.shape);
        Assert.Equal(ScalarType.Float32, angles.dtype);
        var f = Enumerable.Range(0, 4).Select(i => (float)(1.0 / Math.Pow(10000.0, 2.0 * i / 8))).ToArray();
        float[] patch4 = [0, 0, 0, 0, 2 * f[0], 2 * f[1], 2 * f[2], 2 * f[3]];          // (h, w) = (0, 2)
        float[] patch47 = [5 * f[0], 5 * f[1], 5 * f[2], 5 * f[3], 7 * f[0], 7 * f[1], 7 * f[2], 7 * f[3]];   // (5, 7)
        AssertClose(patch4, angles[4].data<float>().ToArray());
        AssertClose(patch47, angles[47].data<float>().ToArray());
    }

    [Fact]
    public void Attention_chunks_group_equal_lengths_and_restore_order()
    {
        using var scope = NewDisposeScope();
        var inOrder = new VisionAttentionChunks([0L, 16, 32, 40, 48], CPU);
        Assert.Equal([(2L, 16L), (2L, 8L)], inOrder.Groups);
        Assert.Null(inOrder.Gather);

        var mixed = new VisionAttentionChunks([0L, 16, 24, 40, 40], CPU);
        Assert.Equal([(2L, 16L), (1L, 8L)], mixed.Groups);
        long[] gather = [.. Enumerable.Range(0, 16).Select(i => (long)i), .. Enumerable.Range(24, 16).Select(i => (long)i), .. Enumerable.Range(16, 8).Select(i => (long)i)];
        Assert.Equal(gather, mixed.Gather!.data<long>().ToArray());
        var roundTrip = mixed.Gather!.index_select(0, mixed.Scatter!);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), roundTrip.data<long>().ToArray());
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])), $"[{i}] {actual[i]} != {expected[i]}");
    }
}
