using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo;

/// <summary>
/// Tensors of one micro-batch for <see cref="TapoObjective.Compute"/>, all <c>[rows, T]</c> over response tokens.
/// </summary>
/// <param name="LogProbs">log π_θ(o_t | q, x*, o_&lt;t) with gradient (x* = generation image or anchor, docs/method.md §5.8).</param>
/// <param name="OldLogProbs">log π_θold of the same tokens under the same image (no grad).</param>
/// <param name="Advantages">Per-token advantages (<see cref="DapoAdvantage"/>).</param>
/// <param name="ResponseMask">1 on response tokens up to and including EOS.</param>
/// <param name="AugLogProbs">log π_θold(o_t | q, x_neg, o_&lt;t): the negative image (no grad).</param>
/// <param name="RefLogProbs">Reference-model log-probs; only used when the reference KL is enabled.</param>
public sealed record TapoMicroBatch(Tensor LogProbs, Tensor OldLogProbs, Tensor Advantages, Tensor ResponseMask, Tensor AugLogProbs, Tensor? RefLogProbs = null);

/// <summary>
/// The TAPO loss of one micro-batch (a 0-d tensor with gradient) and its logged parts (reference metric names in brackets).
/// </summary>
/// <param name="Loss">What is back-propagated (divide by the gradient-accumulation count first).</param>
/// <param name="PolicyLoss">[actor/pg_loss] clipped policy-gradient term.</param>
/// <param name="PolicyMetrics">ppo_kl, entropy_loss, clip fractions.</param>
/// <param name="ReferenceKl">[actor/kl_loss] averaged reference KL, or null when disabled.</param>
/// <param name="KlPrcp">[actor/kl_prcp] averaged inter-class KL to the negative image (maximised).</param>
/// <param name="AugEntropy">[actor/aug_entropy_loss] −mean(aug log-prob).</param>
/// <param name="OriEntropy">[actor/ori_entropy_loss] −mean(log-prob).</param>
public sealed record TapoLossResult(Tensor Loss, double PolicyLoss, PolicyLossMetrics PolicyMetrics, double? ReferenceKl, double KlPrcp, double AugEntropy, double OriEntropy);

/// <summary>
/// The per-micro-batch TAPO objective as the released code composes it (docs/method.md §5.4, reference
/// <c>dp_actor.update_policy</c>; paper §4.3 Eq. 4 with the differences of docs/method.md §9 items 2–4):
/// <code>
/// loss = L_pg                                                  (compute_policy_loss)
///      + kl_coef      · average_loss(KL(logp ‖ ref))           (only with UseReferenceKl)
///      − γ            · average_loss(KL(logp ‖ aug) · 1)       (inter-class KL, maximised; γ = 0.01)
///      + η2           · (−masked_mean(aug_log_probs))          (constant; η2 = 0.03)
///      + η1           · (−masked_mean(logp))                   (η1 = 0.03)
/// </code>
/// Gradient flows only through <see cref="TapoMicroBatch.LogProbs"/>; per KL token ∂/∂l [e^(a−l) − (a−l) − 1] = 1 − e^(a−l),
/// zero where a clamp is active.
/// </summary>
public static class TapoObjective
{
    /// <summary>Computes the loss of <paramref name="batch"/> with the coefficients of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">Shapes disagree, or the reference KL is on without <see cref="TapoMicroBatch.RefLogProbs"/>.</exception>
    public static TapoLossResult Compute(TapoMicroBatch batch, TapoAlgorithmOptions options)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(options);
        MaskedOps.RequireSameShape(batch.LogProbs, batch.AugLogProbs, nameof(batch.LogProbs), nameof(batch.AugLogProbs));
        if (options.UseReferenceKl && batch.RefLogProbs is null)
            throw new ArgumentException("UseReferenceKl is on but the micro-batch has no RefLogProbs.", nameof(batch));

        using var scope = NewDisposeScope();
        var mode = options.LossAggregation;
        var mask = batch.ResponseMask;
        var pg = PolicyLoss.Compute(batch.OldLogProbs, batch.LogProbs, batch.Advantages, mask,
            options.ClipRatioLow, options.ClipRatioHigh, options.ClipRatioDual, mode);
        var loss = pg.Loss;

        double? referenceKl = null;
        if (options.UseReferenceKl)
        {
            var kl = MaskedOps.AverageLoss(KlDivergence.ComputeKl(batch.LogProbs, batch.RefLogProbs!, options.KlPenalty), mask, mode);
            loss = loss + kl * options.KlCoef;
            referenceKl = kl.ToDouble();
        }

        // Inter-class augmentation: KL[π_θ(·|q,x*) ‖ π_θold(·|q,x_neg)], weight 1 per row (apply_mode "all"), maximised.
        var klPrcp = MaskedOps.AverageLoss(KlDivergence.ComputeKl(batch.LogProbs, batch.AugLogProbs.detach(), options.KlPrcpPenalty), mask, mode);
        loss = loss - klPrcp * options.KlPrcpCoef;

        var augEntropy = -MaskedOps.MaskedMean(MaskedOps.AsLossFloat(batch.AugLogProbs.detach()), mask);
        loss = loss + augEntropy * options.AugEntropyCoef;

        var oriEntropy = -MaskedOps.MaskedMean(MaskedOps.AsLossFloat(batch.LogProbs), mask);
        loss = loss + oriEntropy * options.OriEntropyCoef;

        return new TapoLossResult(loss.MoveToOuterDisposeScope(), pg.Loss.ToDouble(), pg.Metrics, referenceKl,
            klPrcp.ToDouble(), augEntropy.ToDouble(), oriEntropy.ToDouble());
    }
}
