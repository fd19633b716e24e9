using FineR1.Core.Modeling.Common;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// HF <c>apply_multimodal_rotary_pos_emb</c>, split in its two steps so the section merge runs once per forward instead
/// of once per layer (the result is bit-identical).
/// </summary>
public static class MultimodalRotary
{
    /// <summary>
    /// Picks, for each band of rotary channels, the angles of the position axis that owns it: with
    /// <c>mrope_section = [16, 24, 24]</c> the head dimension (128) is cut into [16, 24, 24, 16, 24, 24] and chunk
    /// <c>i</c> is taken from axis <c>i % 3</c> (temporal, height, width, temporal, height, width).
    /// </summary>
    /// <example>
    /// Tiny config, <c>mrope_section = [2, 3, 3]</c>, head_dim 16: channels 0-1 and 8-9 use the temporal position,
    /// 2-4 and 10-12 the height position, 5-7 and 13-15 the width position.
    /// </example>
    /// <param name="cosOrSin">cos or sin from <see cref="Qwen2_5_VLRotaryEmbedding"/>, <c>[3, B, T, head_dim]</c>.</param>
    /// <param name="mropeSection">Rotary half-dims per axis; they sum to head_dim / 2.</param>
    /// <returns><c>[B, 1, T, head_dim]</c>, ready to broadcast over heads.</returns>
    public static Tensor MergeSections(Tensor cosOrSin, IReadOnlyList<int> mropeSection)
    {
        using var scope = NewDisposeScope();
        var sizes = mropeSection.Concat(mropeSection).Select(s => (long)s).ToArray();
        var chunks = cosOrSin.split(sizes, -1);
        var picked = chunks.Select((chunk, i) => chunk[i % 3]).ToArray();         // each [B, T, size_i]
        return cat(picked, -1).unsqueeze(1).MoveToOuterDisposeScope();           // [B, 1, T, head_dim]
    }

    /// <summary>
    /// Rotates <paramref name="x"/> (<c>[B, heads, T, head_dim]</c>) by the merged angles:
    /// <c>x * cos + rotate_half(x) * sin</c>, in the dtype of <paramref name="x"/>.
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        return (x * cos + Rotary.RotateHalf(x) * sin).MoveToOuterDisposeScope();
    }
}
