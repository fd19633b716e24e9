using FineR1.Training.Tapo;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Tapo;

/// <summary>Hand-computed cases and edge behaviour of the TAPO loss functions.</summary>
public sealed class TapoLossUnitTests
{
    [Fact]
    public void AverageLoss_token_and_seq_follow_the_worked_example()
    {
        using var scope = NewDisposeScope();
        var v = tensor(new double[] { 1, 2, 3, 9 }, [2, 2]);
        var m = tensor(new double[] { 1, 1, 1, 0 }, [2, 2]);
        Assert.Equal(2.0, MaskedOps.AverageLoss(v, m, LossAggregation.Token).ToDouble(), 6);
        Assert.Equal(2.25, MaskedOps.AverageLoss(v, m, LossAggregation.Seq).ToDouble(), 6);
    }

    [Fact]
    public void LowVarKl_is_clamped_at_10_and_has_zero_gradient_there()
    {
        using var scope = NewDisposeScope();
        var lp = tensor(new double[] { -1, -30 }).requires_grad_();
        var rf = tensor(new double[] { -2, -1 }); // d = −1 (k3 = e⁻¹) and d = 29 → clamp 20 → e²⁰ → clamp 10
        var k = KlDivergence.ComputeKl(lp, rf, KlPenalty.LowVarKl);
        Assert.Equal(Math.Exp(-1), k[0].ToDouble(), 12);
        Assert.Equal(10.0, k[1].ToDouble());
        k.sum().backward();
        Assert.Equal(1 - Math.Exp(-1), lp.grad![0].ToDouble(), 12); // ∂/∂l = 1 − e^(ref − l)
        Assert.Equal(0.0, lp.grad![1].ToDouble());
    }

    [Fact]
    public void ComputeKl_promotes_bfloat16_to_float32_like_the_reference()
    {
        using var scope = NewDisposeScope();
        var kl = KlDivergence.ComputeKl(full(2, -1.0f, ScalarType.BFloat16), full(2, -2.0f, ScalarType.BFloat16), KlPenalty.Mse);
        Assert.Equal(ScalarType.Float32, kl.dtype);
        Assert.Equal(0.5, kl[0].ToDouble(), 6);
    }

    [Fact]
    public void Shape_mismatch_is_a_clear_argument_exception()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => KlDivergence.ComputeKl(zeros(2, 3), zeros(2, 4), KlPenalty.Kl));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[2, 4]", ex.Message);
    }

    [Theory]
    [InlineData("full")]
    [InlineData("k4")]
    public void Unknown_or_full_penalty_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => KlPenaltyNames.Parse(name));

    [Fact]
    public void Dual_clip_caps_negative_advantage_loss_at_three()
    {
        using var scope = NewDisposeScope();
        var old = zeros(1, 1, dtype: ScalarType.Float64);
        var lp = full(1, 1, Math.Log(5.0), dtype: ScalarType.Float64); // ratio 5
        var mask = ones(1, 1, dtype: ScalarType.Float64);
        var negative = PolicyLoss.Compute(old, lp, full(1, 1, -1.0, dtype: ScalarType.Float64), mask);
        Assert.Equal(3.0, negative.Loss.ToDouble(), 6); // ÷ (1 + 1e-8) of the masked mean
        Assert.Equal(1.0, negative.Metrics.ClipFractionLower, 6);
        var positive = PolicyLoss.Compute(old, lp, full(1, 1, 1.0, dtype: ScalarType.Float64), mask);
        Assert.Equal(-1.28, positive.Loss.ToDouble(), 6); // clipped at 1 + 0.28
        Assert.Equal(1.0, positive.Metrics.ClipFractionHigher, 6);
    }

    [Fact]
    public void Advantage_rejects_single_row_groups_and_wrong_id_counts()
    {
        using var scope = NewDisposeScope();
        var scores = tensor(new double[] { 1, 0, 1 });
        var mask = ones(3, 2, dtype: ScalarType.Float64);
        var ex = Assert.Throws<ArgumentException>(() => DapoAdvantage.ComputeOutcomeAdvantageFromScores(scores, mask, ["a", "a", "b"]));
        Assert.Contains("'b'", ex.Message);
        Assert.Throws<ArgumentException>(() => DapoAdvantage.ComputeOutcomeAdvantageFromScores(scores, mask, ["a", "a"]));
    }

    [Fact]
    public void Advantage_of_a_constant_group_is_zero()
    {
        using var scope = NewDisposeScope();
        var adv = DapoAdvantage.ComputeOutcomeAdvantageFromScores(tensor(new double[] { 1, 1 }), ones(2, 3, dtype: ScalarType.Float64), ["g", "g"]);
        Assert.Equal(0.0, adv.abs().max().ToDouble());
    }

    [Fact]
    public void Objective_without_reference_kl_matches_its_parts_and_the_kl_gradient_formula()
    {
        using var scope = NewDisposeScope();
        var gen = manual_seed(7);
        var lp = (-rand(3, 4, dtype: ScalarType.Float64) * 2).requires_grad_();
        var old = lp.detach() + 0.01;
        var aug = -rand(3, 4, dtype: ScalarType.Float64) * 3;
        var adv = zeros(3, 4, dtype: ScalarType.Float64); // no policy-gradient term: isolate KL and entropy
        var mask = ones(3, 4, dtype: ScalarType.Float64);
        var o = new TapoAlgorithmOptions();
        var result = TapoObjective.Compute(new TapoMicroBatch(lp, old, adv, mask, aug), o);
        Assert.Null(result.ReferenceKl);
        double expected = -0.01 * result.KlPrcp + 0.03 * result.AugEntropy + 0.03 * result.OriEntropy;
        Assert.Equal(expected, result.Loss.ToDouble(), 10);

        result.Loss.backward();
        // d/dl [−γ·mean(e^(a−l) − (a−l) − 1) − η1·mean(l)] = (−γ(1 − e^(a−l)) − η1) / N
        var expectedGrad = (-0.01 * (1 - (aug - lp.detach()).exp()) - 0.03) / 12.0;
        Assert.True(allclose(lp.grad!, expectedGrad, rtol: 1e-7, atol: 1e-14));
    }

    [Fact]
    public void Objective_with_reference_kl_on_but_no_reference_log_probs_throws()
    {
        using var scope = NewDisposeScope();
        var t = zeros(1, 2);
        var ex = Assert.Throws<ArgumentException>(() =>
            TapoObjective.Compute(new TapoMicroBatch(t, t, t, t, t), new TapoAlgorithmOptions { UseReferenceKl = true }));
        Assert.Contains("RefLogProbs", ex.Message);
    }
}
