using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>Builds the decoder's attention mask from a 2-D padding mask (HF <c>create_causal_mask</c> semantics).</summary>
public static class AttentionMask
{
    /// <summary>
    /// Boolean mask <c>[B, 1, T, past + T]</c>: query <c>i</c> (absolute position <c>past + i</c>) may attend key
    /// <c>j</c> when <c>j ≤ past + i</c> and <c>paddingMask[b, j] = 1</c>. A query standing on padding may also attend
    /// itself, so no row is fully masked (a fully masked row would make SDPA return NaN, which would then leak through
    /// the zero attention weights of later layers); such rows' outputs are never used.
    /// </summary>
    /// <example>
    /// past = 0, T = 3, paddingMask row <c>[0, 1, 1]</c> (one left pad):
    /// <code>
    /// query 0 (pad): [1, 0, 0]   (itself only)
    /// query 1:       [0, 1, 0]
    /// query 2:       [0, 1, 1]
    /// </code>
    /// </example>
    /// <param name="paddingMask"><c>[B, past + T]</c>, 1 for real tokens and 0 for padding (any integer or bool dtype).</param>
    /// <param name="past">Tokens already in the KV cache.</param>
    /// <param name="steps">New tokens in this forward (T).</param>
    /// <exception cref="ArgumentException">The mask is not <c>[B, past + T]</c>.</exception>
    public static Tensor Build(Tensor paddingMask, long past, long steps)
    {
        if (paddingMask.ndim != 2 || paddingMask.shape[1] != past + steps)
            throw new ArgumentException(
                $"attention_mask must be [batch, past + T] = [*, {past + steps}], got [{string.Join(", ", paddingMask.shape)}].",
                nameof(paddingMask));
        using var scope = NewDisposeScope();
        var device = paddingMask.device;
        var keyIndex = arange(past + steps, dtype: ScalarType.Int64, device: device);              // [S]
        var queryIndex = arange(past, past + steps, dtype: ScalarType.Int64, device: device).unsqueeze(1); // [T, 1]
        var causal = keyIndex.le(queryIndex);                                                       // [T, S]
        var valid = paddingMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);                     // [B, 1, 1, S]
        var self = keyIndex.eq(queryIndex);                                                         // [T, S]
        return causal.logical_and(valid).logical_or(self).MoveToOuterDisposeScope();              // [B, 1, T, S]
    }

    /// <summary>Causal mask <c>[1, 1, T, past + T]</c> for cached decoding of several tokens without padding.</summary>
    public static Tensor Causal(long past, long steps, Device device)
    {
        using var scope = NewDisposeScope();
        var keyIndex = arange(past + steps, dtype: ScalarType.Int64, device: device);
        var queryIndex = arange(past, past + steps, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        return keyIndex.le(queryIndex).unsqueeze(0).unsqueeze(0).MoveToOuterDisposeScope();
    }
}
