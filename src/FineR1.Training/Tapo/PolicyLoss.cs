using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo;

/// <summary>Logged statistics of <see cref="PolicyLoss.Compute"/> (reference names in brackets; masked token means).</summary>
/// <param name="PpoKl">[ppo_kl] token mean of <c>old_logp − logp</c> (clamped to ±20).</param>
/// <param name="EntropyLoss">[entropy_loss] <c>average_loss(−logp)</c> in the loss's averaging mode.</param>
/// <param name="ClipFractionHigher">[pg_clipfrac_higher] fraction of tokens where the PPO clip is active.</param>
/// <param name="ClipFractionLower">[pg_clipfrac_lower] fraction of tokens where the dual clip is active (A &lt; 0).</param>
public sealed record PolicyLossMetrics(double PpoKl, double EntropyLoss, double ClipFractionHigher, double ClipFractionLower);

/// <summary>The clipped policy-gradient loss (a 0-d tensor with gradient w.r.t. <c>logp</c>) and its metrics.</summary>
/// <param name="Loss">Scalar loss to minimise.</param>
/// <param name="Metrics">Logged statistics.</param>
public sealed record PolicyLossResult(Tensor Loss, PolicyLossMetrics Metrics);

/// <summary>
/// DAPO's asymmetric-clip PPO loss with dual clip (docs/method.md §5.5 <c>compute_policy_loss</c>; paper Eq. 4's
/// <c>min[r·Â, clip(r, 1−ε_l, 1+ε_h)·Â]</c> term, negated to a loss).
/// </summary>
public static class PolicyLoss
{
    /// <summary>Clamp of <c>logp − old_logp</c> before <c>exp</c> (reference ±20).</summary>
    public const double LogRatioClamp = 20.0;

    /// <summary>
    /// <code>
    /// d = clamp(logp − old, −20, 20); ratio = eᵈ; cratio = exp(clamp(d, log(1−ε_low), log(1+ε_high)))
    /// L1 = −A·ratio; L2 = −A·cratio; L3 = −A·clip_dual
    /// L  = A &lt; 0 ? min(max(L1, L2), L3) : max(L1, L2);   loss = average_loss(L, mask, mode)
    /// </code>
    /// All inputs <c>[rows, T]</c>; only <paramref name="logProbs"/> should carry gradient.
    /// </summary>
    /// <param name="oldLogProbs">log π_θold of the sampled tokens (no grad).</param>
    /// <param name="logProbs">log π_θ of the sampled tokens (with grad).</param>
    /// <param name="advantages">Per-token advantages (<see cref="DapoAdvantage"/>).</param>
    /// <param name="responseMask">1 on response tokens.</param>
    /// <param name="clipRatioLow">ε_low (Fine-R1: 0.2).</param>
    /// <param name="clipRatioHigh">ε_high (Fine-R1: 0.28).</param>
    /// <param name="clipRatioDual">Dual-clip constant c (Fine-R1: 3.0).</param>
    /// <param name="mode">Averaging (Fine-R1: token).</param>
    /// <example>A = −1, ratio = 5: L1 = 5, L2 = 1.28, max = 5, dual clip min(5, 3) = 3 → the loss is capped at 3.</example>
    public static PolicyLossResult Compute(
        Tensor oldLogProbs, Tensor logProbs, Tensor advantages, Tensor responseMask,
        double clipRatioLow = 0.2, double clipRatioHigh = 0.28, double clipRatioDual = 3.0,
        LossAggregation mode = LossAggregation.Token)
    {
        MaskedOps.RequireSameShape(logProbs, oldLogProbs, nameof(logProbs), nameof(oldLogProbs));
        MaskedOps.RequireSameShape(logProbs, advantages, nameof(logProbs), nameof(advantages));
        MaskedOps.RequireSameShape(logProbs, responseMask, nameof(logProbs), nameof(responseMask));
        if (!(clipRatioLow is >= 0 and < 1) || !(clipRatioHigh >= 0) || !(clipRatioDual > 1))
            throw new ArgumentException($"Clip ratios need 0 ≤ low < 1, high ≥ 0, dual > 1; got {clipRatioLow}, {clipRatioHigh}, {clipRatioDual}.");

        using var scope = NewDisposeScope();
        var lp = MaskedOps.AsLossFloat(logProbs);
        var old = oldLogProbs.to_type(lp.dtype);
        var a = advantages.to_type(lp.dtype);

        var d = (lp - old).clamp(-LogRatioClamp, LogRatioClamp);
        var ratio = d.exp();
        var clippedRatio = d.clamp(Math.Log(1.0 - clipRatioLow), Math.Log(1.0 + clipRatioHigh)).exp();
        var l1 = -a * ratio;
        var l2 = -a * clippedRatio;
        var l3 = -a * clipRatioDual;
        var lHigh = maximum(l1, l2);
        var lLow = minimum(lHigh, l3);
        var negative = a < 0;
        var final = where(negative, lLow, lHigh);
        var loss = MaskedOps.AverageLoss(final, responseMask, mode);

        PolicyLossMetrics metrics;
        using (no_grad())
        {
            var ppoKl = MaskedOps.MaskedMean(-d, responseMask).ToDouble();
            var entropy = MaskedOps.AverageLoss(-lp, responseMask, mode).ToDouble();
            var clipHigh = MaskedOps.MaskedMean((l1 < l2).to_type(lp.dtype), responseMask).ToDouble();
            var clipLow = MaskedOps.MaskedMean(((lHigh > l3) & negative).to_type(lp.dtype), responseMask).ToDouble();
            metrics = new PolicyLossMetrics(ppoKl, entropy, clipHigh, clipLow);
        }
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), metrics);
    }
}
