using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo;

/// <summary>
/// Masked reductions used by every TAPO loss (docs/method.md §5.5 <c>average_loss</c>; verl <c>masked_mean</c>). Shapes: values and
/// mask are <c>[rows, T]</c> response-token tensors; the mask is 1 on response tokens up to and including EOS.
/// </summary>
public static class MaskedOps
{
    /// <summary>The ε the reference adds to every mask sum (<c>average_loss(..., eps=1e-8)</c>, <c>masked_mean</c>).</summary>
    public const double Epsilon = 1e-8;

    /// <summary>
    /// <c>Σ(values·mask) / (Σmask + ε)</c> over all elements (verl <c>masked_mean</c>). Returns a 0-d tensor.
    /// </summary>
    /// <example>values <c>[[1, 2], [3, 9]]</c>, mask <c>[[1, 1], [1, 0]]</c> → (1+2+3)/3 = 2.</example>
    public static Tensor MaskedMean(Tensor values, Tensor mask, double epsilon = Epsilon)
    {
        RequireSameShape(values, mask, nameof(values), nameof(mask));
        using var scope = NewDisposeScope();
        var m = mask.to_type(values.dtype);
        return ((values * m).sum() / (m.sum() + epsilon)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// docs/method.md §5.5 <c>average_loss(values, mask, mode, eps=1e-8)</c>: <see cref="LossAggregation.Token"/> =
    /// <see cref="MaskedMean"/> over every token; <see cref="LossAggregation.Seq"/> = mean over rows of each row's masked
    /// mean. Returns a 0-d tensor (differentiable in <paramref name="values"/>).
    /// </summary>
    /// <example>values <c>[[1, 2], [3, 9]]</c>, mask <c>[[1, 1], [1, 0]]</c>: token → 6/3 = 2; seq → (1.5 + 3)/2 = 2.25.</example>
    public static Tensor AverageLoss(Tensor values, Tensor mask, LossAggregation mode, double epsilon = Epsilon)
    {
        RequireSameShape(values, mask, nameof(values), nameof(mask));
        if (mode == LossAggregation.Token) return MaskedMean(values, mask, epsilon);
        if (values.dim() != 2) throw new ArgumentException($"'seq' averaging needs [rows, T] tensors, got [{string.Join(", ", values.shape)}].", nameof(values));
        using var scope = NewDisposeScope();
        var m = mask.to_type(values.dtype);
        var perRow = (values * m).sum(-1) / (m.sum(-1) + epsilon); // [rows]
        return perRow.mean().MoveToOuterDisposeScope();
    }

    internal static void RequireSameShape(Tensor a, Tensor b, string nameA, string nameB)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException(
                $"'{nameA}' has shape [{string.Join(", ", a.shape)}] but '{nameB}' has shape [{string.Join(", ", b.shape)}]; they must match.");
    }

    /// <summary>float32/float64 stay as they are; half types are promoted to float32 as the reference does (<c>.float()</c>).</summary>
    internal static Tensor AsLossFloat(Tensor t) =>
        t.dtype is ScalarType.Float32 or ScalarType.Float64 ? t.alias() : t.to_type(ScalarType.Float32);
}
