using FineR1.Core.Configuration;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>
/// M-RoPE position ids of Qwen2.5-VL (HF <c>Qwen2_5_VLModel.get_rope_index</c>, images only) and the positions of
/// later decoding steps.
/// </summary>
/// <remarks>
/// <para>Text tokens get the same position on all three axes (temporal, height, width), counting up by one. An image
/// whose merged grid is <c>t × h × w</c> (the <c>image_grid_thw</c> row divided by <c>spatial_merge_size</c> on h and
/// w) occupies <c>t·h·w</c> <c>&lt;|image_pad|&gt;</c> tokens; all of them start at <c>s</c> = one past the previous
/// maximum and get <c>(s + 0, s + row, s + column)</c> (Qwen2.5-VL gives still images temporal offset 0). The text
/// after the image resumes at the image's maximum + 1, so the sequence's last position is smaller than its length;
/// <c>rope_delta = max position + 1 − sequence length</c> is what decoding adds to the cache offset.</para>
/// <para>Worked example (the <c>tiny-a</c> fixture; image grid <c>[1, 6, 8]</c>, merge 2 → 3 × 4 = 12 tokens):
/// <code>
/// tokens  : 10 11 12 &lt;vs&gt; [12 × &lt;img&gt;]                 &lt;ve&gt; 20 21 22 23 30 31
/// temporal:  0  1  2  3   4 4 4 4  4 4 4 4  4 4 4 4   8   9 10 11 12 13 14
/// height  :  0  1  2  3   4 4 4 4  5 5 5 5  6 6 6 6   8   9 10 11 12 13 14
/// width   :  0  1  2  3   4 5 6 7  4 5 6 7  4 5 6 7   8   9 10 11 12 13 14
/// rope_delta = 14 + 1 − 23 = −8; the next generated token (cache length 23) gets position 23 − 8 = 15.
/// </code></para>
/// <para>With left padding (attention mask 0) the positions are computed over the real tokens only; padded slots get
/// position 1, as in HF (they are masked out anyway).</para>
/// <para>This is host-side preprocessing: inputs are copied to the CPU. Call it once per prompt batch, not per step.</para>
/// </remarks>
public static class RopeIndex
{
    /// <summary><see cref="GetRopeIndex(Tensor, Tensor?, Tensor?, int, int, int, int)"/> with the ids of <paramref name="config"/>.</summary>
    public static (Tensor PositionIds, Tensor RopeDeltas) GetRopeIndex(Qwen2_5_VLConfig config, Tensor inputIds,
        Tensor? imageGridThw = null, Tensor? attentionMask = null) =>
        GetRopeIndex(inputIds, imageGridThw, attentionMask, config.Vision.SpatialMergeSize, config.ImageTokenId,
            config.VisionStartTokenId, config.VideoTokenId);

    /// <summary>
    /// Computes the M-RoPE positions of a (left-padded) batch of prompts.
    /// </summary>
    /// <param name="inputIds"><c>[B, L]</c> token ids.</param>
    /// <param name="imageGridThw"><c>[images, 3]</c> (t, h, w) patch grids of all images of the batch, in order
    /// (row 0's images first); null for text only.</param>
    /// <param name="attentionMask"><c>[B, L]</c>, 1 = token, 0 = padding; null = no padding.</param>
    /// <param name="spatialMergeSize">Vision <c>spatial_merge_size</c> (2).</param>
    /// <param name="imageTokenId"><c>image_token_id</c>.</param>
    /// <param name="visionStartTokenId"><c>vision_start_token_id</c>.</param>
    /// <param name="videoTokenId"><c>video_token_id</c> (videos are not supported: a video block is an error).</param>
    /// <returns><c>PositionIds</c> <c>[3, B, L]</c> and <c>RopeDeltas</c> <c>[B, 1]</c> (int64, on the device of
    /// <paramref name="inputIds"/>).</returns>
    /// <exception cref="ArgumentException">Shapes disagree, the prompt holds more images than grids (or fewer), a
    /// row is all padding, or a video block is present.</exception>
    public static (Tensor PositionIds, Tensor RopeDeltas) GetRopeIndex(Tensor inputIds, Tensor? imageGridThw,
        Tensor? attentionMask, int spatialMergeSize, int imageTokenId, int visionStartTokenId, int videoTokenId)
    {
        if (inputIds.ndim != 2) throw new ArgumentException($"input_ids must be [batch, length], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        int batch = (int)inputIds.shape[0], length = (int)inputIds.shape[1];
        if (attentionMask is not null && (attentionMask.ndim != 2 || attentionMask.shape[0] != batch || attentionMask.shape[1] != length))
            throw new ArgumentException($"attention_mask must be [{batch}, {length}], got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
        if (imageGridThw is not null && (imageGridThw.ndim != 2 || imageGridThw.shape[1] != 3))
            throw new ArgumentException($"image_grid_thw must be [images, 3], got [{string.Join(", ", imageGridThw.shape)}].", nameof(imageGridThw));

        long[] ids = ToHost(inputIds);
        long[] mask = attentionMask is null ? Enumerable.Repeat(1L, batch * length).ToArray() : ToHost(attentionMask);
        long[] grids = imageGridThw is null ? [] : ToHost(imageGridThw);
        int gridCount = grids.Length / 3;

        var positions = new long[3 * batch * length];
        Array.Fill(positions, 1L);                                    // padded slots, as HF
        var deltas = new long[batch];
        int imageIndex = 0;

        for (int row = 0; row < batch; row++)
        {
            var slots = Enumerable.Range(0, length).Where(j => mask[row * length + j] == 1).ToArray();
            if (slots.Length == 0) throw new ArgumentException($"row {row} of attention_mask has no tokens.", nameof(attentionMask));
            var tokens = slots.Select(j => ids[row * length + j]).ToArray();
            var rowPositions = new long[3, tokens.Length];
            long maxPosition;

            if (imageGridThw is null)
            {
                // HF's text-only branch: cumulative count of real tokens; the max also sees the fill value 1.
                for (int k = 0; k < tokens.Length; k++) rowPositions[0, k] = rowPositions[1, k] = rowPositions[2, k] = k;
                maxPosition = Math.Max(tokens.Length - 1, slots.Length < length ? 1 : 0);
            }
            else
            {
                int images = 0;
                for (int k = 0; k + 1 < tokens.Length; k++)
                {
                    if (tokens[k] != visionStartTokenId) continue;
                    if (tokens[k + 1] == imageTokenId) images++;
                    else if (tokens[k + 1] == videoTokenId) throw new ArgumentException($"row {row}: video inputs are not supported.", nameof(inputIds));
                }
                long next = 0;   // one past the largest position written so far
                int start = 0;   // first token not yet placed
                for (int image = 0; image < images; image++)
                {
                    int end = Array.IndexOf(tokens, (long)imageTokenId, start);
                    if (end < 0) throw new ArgumentException($"row {row}: a vision_start token is not followed by image tokens.", nameof(inputIds));
                    if (imageIndex >= gridCount)
                        throw new ArgumentException($"the prompts hold more images than image_grid_thw has rows ({gridCount}).", nameof(imageGridThw));
                    long t = grids[imageIndex * 3], h = grids[imageIndex * 3 + 1] / spatialMergeSize, w = grids[imageIndex * 3 + 2] / spatialMergeSize;
                    imageIndex++;
                    for (int k = start; k < end; k++) rowPositions[0, k] = rowPositions[1, k] = rowPositions[2, k] = next + (k - start);
                    long origin = next + (end - start);
                    long count = t * h * w;
                    if (end + count > tokens.Length)
                        throw new ArgumentException($"row {row}: image {imageIndex - 1} needs {count} image tokens but the prompt ends first.", nameof(inputIds));
                    for (long n = 0; n < count; n++)
                    {
                        int k = end + (int)n;
                        rowPositions[0, k] = origin;                       // images: temporal offset 0
                        rowPositions[1, k] = origin + n / w % h;
                        rowPositions[2, k] = origin + n % w;
                    }
                    next = origin + Math.Max(h, w) - 1 + 1;                 // max(t index 0, h-1, w-1) + 1
                    start = end + (int)count;
                }
                for (int k = start; k < tokens.Length; k++) rowPositions[0, k] = rowPositions[1, k] = rowPositions[2, k] = next + (k - start);
                if (start < tokens.Length) next += tokens.Length - start;
                maxPosition = next - 1;
            }

            for (int axis = 0; axis < 3; axis++)
                for (int k = 0; k < slots.Length; k++)
                    positions[(axis * batch + row) * length + slots[k]] = rowPositions[axis, k];
            deltas[row] = maxPosition + 1 - length;
        }
        if (imageGridThw is not null && imageIndex != gridCount)
            throw new ArgumentException($"image_grid_thw has {gridCount} rows but the prompts hold {imageIndex} images.", nameof(imageGridThw));

        var device = inputIds.device;
        return (tensor(positions, [3, batch, length], ScalarType.Int64).to(device),
                tensor(deltas, [batch, 1], ScalarType.Int64).to(device));
    }

    /// <summary>
    /// Positions of <paramref name="steps"/> new tokens after <paramref name="past"/> cached ones (HF's decoding path):
    /// <c>past + i + rope_delta</c> on all three axes. Stays on the device: no host synchronisation.
    /// </summary>
    /// <param name="ropeDeltas"><c>[B, 1]</c> from <see cref="GetRopeIndex(Tensor, Tensor?, Tensor?, int, int, int, int)"/>.</param>
    /// <param name="past">Cache length (padding included), e.g. <see cref="KvCache.Length"/>.</param>
    /// <param name="steps">New tokens (usually 1).</param>
    /// <returns><c>[3, B, steps]</c> int64.</returns>
    public static Tensor DecodePositions(Tensor ropeDeltas, long past, long steps = 1)
    {
        using var scope = NewDisposeScope();
        var offsets = arange(past, past + steps, dtype: ScalarType.Int64, device: ropeDeltas.device).unsqueeze(0); // [1, T]
        var rows = offsets + ropeDeltas;                                                                            // [B, T]
        return rows.unsqueeze(0).expand(3, rows.shape[0], steps).contiguous().MoveToOuterDisposeScope();
    }

    private static long[] ToHost(Tensor t)
    {
        using var cpu = t.to(ScalarType.Int64, CPU).contiguous();
        return cpu.data<long>().ToArray();
    }
}
