using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Common;

/// <summary>
/// One attention kernel, <c>softmax(q·kᵀ·head_dim^-0.5 + mask)·v</c> (HF's <c>attention_interface</c>).
/// </summary>
/// <param name="query"><c>[B, H, T, hd]</c>.</param>
/// <param name="key"><c>[B, KV, S, hd]</c>; <c>KV</c> divides <c>H</c> (grouped-query attention: kv head <c>j</c>
/// serves query heads <c>j·H/KV … (j+1)·H/KV − 1</c>). Not repeated: a fused kernel reads each kv head once.</param>
/// <param name="value"><c>[B, KV, S, hd]</c>.</param>
/// <param name="mask">Boolean <c>[B or 1, 1, T, S]</c>, true = may attend; null = none (see <paramref name="isCausal"/>).</param>
/// <param name="isCausal">Only with no mask: true = query <c>i</c> attends keys <c>0…i</c> (T = S).</param>
/// <returns><c>[B, H, T, hd]</c> in the query's dtype.</returns>
public delegate Tensor AttentionFunction(Tensor query, Tensor key, Tensor value, Tensor? mask, bool isCausal);

/// <summary>
/// The attention seam (HF <c>ALL_ATTENTION_FUNCTIONS</c> and <c>attn_implementation</c>): the decoder and vision
/// attention modules call an <see cref="AttentionFunction"/> instead of a hard-wired kernel, chosen per model by name
/// with <see cref="Qwen2_5_VLForConditionalGeneration.SetAttentionImplementation"/>. Built in: <see cref="Sdpa"/>
/// (libtorch's scaled dot-product attention, the default) and <see cref="Eager"/> (matmul + softmax in float32, HF's
/// <c>eager_attention_forward</c>, for debugging and parity). A fused kernel registers itself under a new name.
/// </summary>
/// <example><code>
/// AttentionImplementations.Register("my_flash", (q, k, v, mask, causal) => MyKernels.Flash(q, k, v, mask, causal));
/// model.SetAttentionImplementation("my_flash");
/// </code></example>
public static class AttentionImplementations
{
    /// <summary>libtorch's <c>scaled_dot_product_attention</c> (kv heads repeated first).</summary>
    public const string Sdpa = "sdpa";

    /// <summary>Explicit matmul + float32 softmax (HF <c>eager</c>).</summary>
    public const string Eager = "eager";

    private static readonly ConcurrentDictionary<string, AttentionFunction> Functions = new(StringComparer.Ordinal)
    {
        [Sdpa] = ScaledDotProduct,
        [Eager] = EagerAttention,
    };

    /// <summary>Names that <see cref="Get"/> accepts.</summary>
    public static IReadOnlyList<string> Names => [.. Functions.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The function registered under <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No function has that name (the message lists the registered ones).</exception>
    public static AttentionFunction Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Functions.TryGetValue(name, out var function) ? function
            : throw new ArgumentException($"unknown attention implementation '{name}'; registered: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Registers (or replaces) <paramref name="function"/> under <paramref name="name"/>; the built-in names
    /// cannot be replaced.</summary>
    public static void Register(string name, AttentionFunction function)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(function);
        if (name is Sdpa or Eager) throw new ArgumentException($"'{name}' is built in and cannot be replaced.", nameof(name));
        Functions[name] = function;
    }

    /// <summary>The <see cref="Sdpa"/> implementation.</summary>
    public static Tensor ScaledDotProduct(Tensor query, Tensor key, Tensor value, Tensor? mask, bool isCausal)
    {
        using var scope = NewDisposeScope();
        long groups = query.shape[1] / key.shape[1];
        var k = RepeatKv(key, groups);                                                          // [B, H, S, hd]
        var v = RepeatKv(value, groups);
        return nn.functional.scaled_dot_product_attention(query, k, v, mask, is_casual: isCausal && mask is null)
            .MoveToOuterDisposeScope();                                                         // [B, H, T, hd]
    }

    /// <summary>The <see cref="Eager"/> implementation: scores in the input dtype, softmax in float32 (as HF).</summary>
    public static Tensor EagerAttention(Tensor query, Tensor key, Tensor value, Tensor? mask, bool isCausal)
    {
        using var scope = NewDisposeScope();
        long groups = query.shape[1] / key.shape[1], t = query.shape[2], s = key.shape[2];
        var k = RepeatKv(key, groups);
        var v = RepeatKv(value, groups);
        var scores = matmul(query, k.transpose(2, 3)) * Math.Pow(query.shape[3], -0.5);        // [B, H, T, S]
        var allowed = mask ?? (isCausal ? ones(t, s, ScalarType.Bool, query.device).tril() : null);
        if (allowed is not null) scores = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity);
        var weights = scores.softmax(-1, ScalarType.Float32).to(query.dtype);
        return matmul(weights, v).MoveToOuterDisposeScope();                                    // [B, H, T, hd]
    }

    /// <summary>HF <c>repeat_kv</c>: <c>[B, KV, S, hd]</c> → <c>[B, KV × groups, S, hd]</c>, each kv head repeated for its query group.</summary>
    public static Tensor RepeatKv(Tensor x, long groups)
    {
        if (groups == 1) return x.alias();
        long b = x.shape[0], kv = x.shape[1], s = x.shape[2], d = x.shape[3];
        using var expanded = x.unsqueeze(2).expand(b, kv, groups, s, d);
        return expanded.reshape(b, kv * groups, s, d);
    }
}
