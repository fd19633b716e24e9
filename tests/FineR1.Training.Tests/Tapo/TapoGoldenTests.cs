using FineR1.Training.Tapo;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Tapo;

/// <summary>Every number of tests/Fixtures/tapo/golden.json (reference TAPO functions), relative tolerance 1e-5.</summary>
[Trait("Category", "Golden")]
public sealed class TapoGoldenTests
{
    private const double Rel = 1e-5;
    private static GoldenTapo G => GoldenTapo.Load();

    public static TheoryData<string, ScalarType> KlCases()
    {
        var data = new TheoryData<string, ScalarType>();
        foreach (var name in new[] { "kl", "abs", "mse", "low_var_kl" })
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            data.Add(name, dtype);
        return data;
    }

    public static TheoryData<ScalarType> DTypes() => [ScalarType.Float32, ScalarType.Float64];

    [Theory]
    [MemberData(nameof(KlCases))]
    public void ComputeKl_MatchesReference(string penalty, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var kl = KlDivergence.ComputeKl(G.Tensor("log_probs", dtype), G.Tensor("ref_log_probs", dtype), KlPenaltyNames.Parse(penalty));
        Assert.Equal(dtype, kl.dtype);
        // The reference computes in float32 (compute_kl casts with .float()). In float64 the k3 estimator eᵈ − d − 1
        // is more exact than the reference where it cancels (values ~1e-3 from d ~ 0.04): allow the reference's own float32
        // rounding of the O(1) terms, 2 ulps of 1.0.
        double floor = dtype == ScalarType.Float64 && penalty == "low_var_kl" ? 2.4e-7 : 0;
        Close.Relative(G.Flat("compute_kl." + penalty), kl, Rel, penalty, floor);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void ComputeKlFull_MatchesReference(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var kl = KlDivergence.ComputeKlFull(G.Tensor("compute_kl_full.log_probs", dtype), G.Tensor("compute_kl_full.ref_log_probs", dtype));
        Assert.Equal([2L, 3L], kl.shape);
        Close.Relative(G.Flat("compute_kl_full.out"), kl, Rel, "kl_full");
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void DapoAdvantage_MatchesReference(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var groups = G["advantage.groups"].EnumerateArray().Select(e => e.GetString()!).ToArray();
        var scores = G.Tensor("advantage.scores", dtype);
        var mask = G.Tensor("mask", dtype);
        var adv = DapoAdvantage.ComputeOutcomeAdvantageFromScores(scores, mask, groups, G.Number("advantage.eps"));
        Close.Relative(G.Flat("advantage.out"), adv, Rel, "advantage");

        // Same through token-level rewards: the score sits on each row's last response token (docs/method.md §5.2).
        var lastToken = mask.sum(-1).to_type(ScalarType.Int64) - 1;
        var rewards = zeros_like(mask).scatter(1, lastToken.unsqueeze(1), scores.unsqueeze(1));
        var adv2 = DapoAdvantage.ComputeOutcomeAdvantage(rewards, mask, groups, G.Number("advantage.eps"));
        Close.Relative(G.Flat("advantage.out"), adv2, Rel, "advantage(token rewards)");
    }

    public static TheoryData<string, ScalarType> ModeCases()
    {
        var data = new TheoryData<string, ScalarType>();
        foreach (var mode in new[] { "token", "seq" })
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            data.Add(mode, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(ModeCases))]
    public void PolicyLoss_MatchesReference(string mode, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var result = PolicyLoss.Compute(
            G.Tensor("old_log_probs", dtype), G.Tensor("log_probs", dtype), G.Tensor("advantage.out", dtype), G.Tensor("mask", dtype),
            G.Number("policy_loss.clip_ratio_low"), G.Number("policy_loss.clip_ratio_high"), G.Number("policy_loss.clip_ratio_dual"),
            LossAggregationNames.Parse(mode));
        var p = $"policy_loss.by_mode.{mode}";
        Close.Relative(G.Number(p + ".loss"), result.Loss.ToDouble(), Rel, "loss");
        Close.Relative(G.Number(p + ".metrics.ppo_kl"), result.Metrics.PpoKl, Rel, "ppo_kl");
        Close.Relative(G.Number(p + ".metrics.entropy_loss"), result.Metrics.EntropyLoss, Rel, "entropy_loss");
        Close.Relative(G.Number(p + ".metrics.pg_clipfrac_higher"), result.Metrics.ClipFractionHigher, Rel, "pg_clipfrac_higher");
        Assert.Equal(G.Number(p + ".metrics.pg_clipfrac_lower"), result.Metrics.ClipFractionLower);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void TapoObjective_LossKlPrcpAndGradient_MatchReference(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var o = new TapoAlgorithmOptions
        {
            LossAggregation = LossAggregationNames.Parse(G["tapo_objective.mode"].GetString()!),
            UseReferenceKl = true,
            KlCoef = G.Number("tapo_objective.kl_coef"),
            KlPenalty = KlPenaltyNames.Parse(G["tapo_objective.kl_penalty"].GetString()!),
            KlPrcpCoef = G.Number("tapo_objective.kl_prcp_coef"),
            KlPrcpPenalty = KlPenaltyNames.Parse(G["tapo_objective.kl_prcp_penalty"].GetString()!),
            AugEntropyCoef = G.Number("tapo_objective.aug_entropy_coef"),
            OriEntropyCoef = G.Number("tapo_objective.ori_entropy_coef"),
            ClipRatioLow = G.Number("policy_loss.clip_ratio_low"),
            ClipRatioHigh = G.Number("policy_loss.clip_ratio_high"),
            ClipRatioDual = G.Number("policy_loss.clip_ratio_dual"),
        };
        var logProbs = G.Tensor("log_probs", dtype).requires_grad_();
        var batch = new TapoMicroBatch(logProbs, G.Tensor("old_log_probs", dtype), G.Tensor("advantage.out", dtype),
            G.Tensor("mask", dtype), G.Tensor("aug_log_probs", dtype), G.Tensor("ref_log_probs", dtype));

        var result = TapoObjective.Compute(batch, o);
        result.Loss.backward();

        Close.Relative(G.Number("tapo_objective.loss"), result.Loss.ToDouble(), Rel, "loss");
        Close.Relative(G.Number("tapo_objective.kl_prcp"), result.KlPrcp, Rel, "kl_prcp");
        Close.Relative(G.Flat("tapo_objective.grad_wrt_log_probs"), logProbs.grad!, Rel, "grad");
    }
}
