using static TorchSharp.torch;

namespace FineR1.Training.Tapo;

/// <summary>
/// Per-token KL estimators between two policies' log-probs of the sampled tokens (docs/method.md §5.5 <c>compute_kl</c>, reference
/// <c>verl/trainer/core_algos.py</c>). TAPO's inter-class term is <c>ComputeKl(logp, aug_log_probs, LowVarKl)</c>
/// (paper Eq. 3; docs/method.md §9 item 2 for the code's direction).
/// </summary>
public static class KlDivergence
{
    /// <summary>Clamp of the log-ratio before <c>exp</c> in <see cref="KlPenalty.LowVarKl"/> (reference: ±20).</summary>
    public const double LogRatioClamp = 20.0;

    /// <summary>Clamp of the <see cref="KlPenalty.LowVarKl"/> value (reference: ±10).</summary>
    public const double LowVarKlClamp = 10.0;

    /// <summary>
    /// docs/method.md §5.5 <c>compute_kl(log_probs, ref_log_probs, kl_penalty)</c>, element-wise. Inputs of any shape (equal);
    /// bf16/fp16 inputs are computed in float32 like the reference, float32/float64 in their own precision.
    /// Differentiable in both arguments.
    /// </summary>
    /// <param name="logProbs">Log-probs of the policy being trained, <c>lp</c> (e.g. <c>[rows, T]</c>).</param>
    /// <param name="refLogProbs">Log-probs of the other policy, <c>ref</c> (reference model, or TAPO's negative image).</param>
    /// <param name="penalty">Estimator.</param>
    /// <example>lp = −1, ref = −2: kl 1, abs 1, mse 0.5, low_var_kl e⁻¹ + 1 − 1 = 0.3679.</example>
    public static Tensor ComputeKl(Tensor logProbs, Tensor refLogProbs, KlPenalty penalty)
    {
        MaskedOps.RequireSameShape(logProbs, refLogProbs, nameof(logProbs), nameof(refLogProbs));
        using var scope = NewDisposeScope();
        var lp = MaskedOps.AsLossFloat(logProbs);
        var rf = MaskedOps.AsLossFloat(refLogProbs).to_type(lp.dtype);
        Tensor result = penalty switch
        {
            KlPenalty.Kl => lp - rf,
            KlPenalty.Abs => (lp - rf).abs(),
            KlPenalty.Mse => 0.5 * (lp - rf).square(),
            KlPenalty.LowVarKl => LowVarKl(lp, rf),
            _ => throw new ArgumentOutOfRangeException(nameof(penalty)),
        };
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// docs/method.md §5.5 <c>"full"</c>: <c>F.kl_div(ref, lp, log_target=True, reduction="none").sum(-1)</c> =
    /// <c>Σ_v exp(lp_v)·(lp_v − ref_v)</c> = KL[π_lp ‖ π_ref] over the last (vocabulary) axis.
    /// </summary>
    /// <param name="logProbs">Full log-distributions of the trained policy, <c>[..., V]</c>.</param>
    /// <param name="refLogProbs">Full log-distributions of the other policy, <c>[..., V]</c>.</param>
    /// <returns><c>[...]</c> (last axis summed).</returns>
    public static Tensor ComputeKlFull(Tensor logProbs, Tensor refLogProbs)
    {
        MaskedOps.RequireSameShape(logProbs, refLogProbs, nameof(logProbs), nameof(refLogProbs));
        using var scope = NewDisposeScope();
        var lp = MaskedOps.AsLossFloat(logProbs);
        var rf = MaskedOps.AsLossFloat(refLogProbs).to_type(lp.dtype);
        return (lp.exp() * (lp - rf)).sum(-1).MoveToOuterDisposeScope();
    }

    // k3 = r − log r − 1 with log r = clamp(ref − lp, ±20); value clamped to ±10 (both clamps zero the gradient outside).
    private static Tensor LowVarKl(Tensor lp, Tensor rf)
    {
        var d = (rf - lp).clamp(-LogRatioClamp, LogRatioClamp);
        var k = d.exp() - d - 1;
        return k.clamp(-LowVarKlClamp, LowVarKlClamp);
    }
}
