using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>Causal language-modelling loss (HF <c>ForCausalLMLoss</c>).</summary>
public static class LanguageModelLoss
{
    /// <summary>Label value that is not supervised (HF's <c>-100</c>).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Cross-entropy of <paramref name="logits"/> against <paramref name="labels"/> shifted left by one (the logits at
    /// position <c>t</c> predict the label at <c>t + 1</c>), computed in float32, ignoring <see cref="IgnoreIndex"/>.
    /// </summary>
    /// <example>
    /// labels <c>[-100, -100, 7, 9]</c> supervise two predictions: logits[1] → 7 and logits[2] → 9; logits[3] has
    /// nothing to predict (the shift pads with -100). Loss = mean of the two cross-entropies.
    /// </example>
    /// <param name="logits"><c>[B, T, vocab]</c> (any float dtype).</param>
    /// <param name="labels"><c>[B, T]</c> token ids, <see cref="IgnoreIndex"/> where not supervised (unshifted: HF style).</param>
    /// <param name="numItemsInBatch">When given (e.g. with gradient accumulation), the summed loss is divided by this
    /// count instead of the number of supervised tokens in this batch.</param>
    /// <returns>Scalar float32 loss (NaN when no token is supervised and <paramref name="numItemsInBatch"/> is null, as in HF).</returns>
    /// <exception cref="ArgumentException">Shapes disagree.</exception>
    public static Tensor Compute(Tensor logits, Tensor labels, long? numItemsInBatch = null)
    {
        if (logits.ndim != 3 || labels.ndim != 2 || labels.shape[0] != logits.shape[0] || labels.shape[1] != logits.shape[1])
            throw new ArgumentException(
                $"logits must be [B, T, vocab] and labels [B, T]; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", labels.shape)}].");
        using var scope = NewDisposeScope();
        long vocab = logits.shape[2];
        var flatLogits = logits.to(ScalarType.Float32).reshape(-1, vocab);                          // [B*T, V]
        var padded = nn.functional.pad(labels.to(ScalarType.Int64).to(logits.device), [0, 1], value: IgnoreIndex); // [B, T+1]
        var shifted = padded.narrow(1, 1, labels.shape[1]).reshape(-1);                             // [B*T]
        Tensor loss;
        if (numItemsInBatch is null)
            loss = nn.functional.cross_entropy(flatLogits, shifted, ignore_index: IgnoreIndex, reduction: nn.Reduction.Mean);
        else
            loss = nn.functional.cross_entropy(flatLogits, shifted, ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum) / numItemsInBatch.Value;
        return loss.MoveToOuterDisposeScope();
    }
}
