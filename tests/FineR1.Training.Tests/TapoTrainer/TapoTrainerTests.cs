using FineR1.Core.Text.Rewards;
using FineR1.Experiments.Synthetic;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.TapoTrainer;

public class TapoTrainerTests
{
    [Fact]
    public void Dynamic_sampling_keeps_only_mixed_groups()
    {
        var samples = new[] { "always", "never", "mixed", "mixed" }.Select((a, i) => TapoTestWorld.Sample(10 + i, a)).ToList();
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 4, groups: 2);
        var trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(TapoTestWorld.Model(), TapoTestWorld.Encoder(), samples, o, new ScriptedReward());
        IReadOnlyList<TapoRollout>? batch = null;
        trainer.BatchPrepared = (b, _, _) => batch = b;

        var m = trainer.Step();

        Assert.NotNull(batch);
        Assert.Equal(8, batch!.Count);                                          // 2 groups × 2n
        Assert.All(batch, r => Assert.Equal("mixed", r.Prompt.Answer));
        Assert.Equal(2, batch.Select(r => r.Row.GroupId).Distinct().Count());
        Assert.Equal(1, m.Draws);
        Assert.Equal(4, m.GroupsGenerated);
        Assert.Equal(2, m.GroupsKept);
        Assert.Equal(0.5, m.Accuracy);
        Assert.Equal((1 + 0 + 0.5 + 0.5) / 4.0, m.GeneratedAccuracy);        // always 1, never 0, two mixed 0.5
    }

    [Theory]
    [InlineData(PositiveRolloutConditioning.GenerationImage)]
    [InlineData(PositiveRolloutConditioning.Anchor)]
    public void Old_log_probs_use_the_image_the_option_says_and_aug_log_probs_the_negative(PositiveRolloutConditioning conditioning)
    {
        var model = TapoTestWorld.Model();
        var o = TapoTestWorld.Options(n: 1, promptsPerDraw: 1, groups: 1);
        o.Algorithm.PositiveRolloutConditioning = conditioning;
        var trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(model, TapoTestWorld.Encoder(), [TapoTestWorld.Sample(20, "mixed")], o, new ScriptedReward());
        double[,]? check = null;
        trainer.BatchPrepared = (batch, old, aug) =>
        {
            using var noGrad = no_grad();
            check = new double[batch.Count, 4];
            for (int i = 0; i < batch.Count; i++)
            {
                var r = batch[i];
                Assert.Equal(conditioning == PositiveRolloutConditioning.Anchor ? TripletImage.Anchor : r.Row.GeneratedFrom, r.Row.LogProbImage);
                int len = r.ResponseIds.Length;
                using var ids = tensor(r.ResponseIds, [1, len], ScalarType.Int64);
                using var mask = ones([1, len], ScalarType.Int64);
                Tensor Under(TripletImage image) =>
                    TapoLogProbs.Compute(model, [new LogProbRow(r.Prompt.PromptIds, r.Prompt.Pixels(image), r.Prompt.Grid)], ids, mask, 1.0, 151643);
                var expectedOld = Under(r.Row.LogProbImage);
                var expectedAug = Under(TripletImage.Negative);
                var otherImage = Under(r.Row.LogProbImage == TripletImage.Anchor ? TripletImage.Positive : TripletImage.Anchor);
                var oldRow = old.narrow(0, i, 1).narrow(1, 0, len);
                check[i, 0] = (oldRow - expectedOld).abs().max().ToDouble();
                check[i, 1] = (aug.narrow(0, i, 1).narrow(1, 0, len) - expectedAug).abs().max().ToDouble();
                check[i, 2] = (oldRow - otherImage).abs().max().ToDouble();
                check[i, 3] = r.Row.GeneratedFrom == TripletImage.Positive ? 1 : 0;
            }
        };

        trainer.Step();

        Assert.NotNull(check);
        Assert.Equal(2, check!.GetLength(0));
        for (int i = 0; i < 2; i++)
        {
            Assert.True(check[i, 0] < 1e-5, $"row {i}: old log-probs differ from the expected image's by {check[i, 0]}");
            Assert.True(check[i, 1] < 1e-5, $"row {i}: aug log-probs differ from the negative's by {check[i, 1]}");
            Assert.True(check[i, 2] > 1e-6, $"row {i}: the other image gives the same log-probs, the test cannot tell them apart ({check[i, 2]}, old err {check[i, 0]})");
        }
    }

    [Fact]
    public void The_negative_image_changes_the_KL_term_and_nothing_else()
    {
        var model = TapoTestWorld.Model();
        var encoder = TapoTestWorld.Encoder();
        var a = TapoTestWorld.Sample(30);
        using var p1 = encoder.Encode(a, "u");
        using var p2 = encoder.Encode(a with { Negative = TapoTestWorld.Image(999) }, "u");
        using var ids = tensor(new long[] { 13, 220, 1986, 151645, 40, 41, 151645, 151643 }, [2, 4], ScalarType.Int64);
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }, [2, 4], ScalarType.Int64);
        var maskF = mask.to_type(ScalarType.Float32);
        using var adv = tensor(new float[] { 1, 1, 1, 1, -1, -1, -1, 0 }, [2, 4]);
        var algorithm = TapoOptions.FineR1_3B().Algorithm;

        (TapoLossResult Result, Tensor[] Grads) Run(PreparedTapoPrompt p)
        {
            LogProbRow Row(TripletImage image) => new(p.PromptIds, p.Pixels(image), p.Grid);
            Tensor old, aug;
            using (no_grad())
            {
                old = TapoLogProbs.Compute(model, [Row(TripletImage.Anchor), Row(TripletImage.Anchor)], ids, mask, 1.0, 151643);
                aug = TapoLogProbs.Compute(model, [Row(TripletImage.Negative), Row(TripletImage.Negative)], ids, mask, 1.0, 151643);
            }
            model.zero_grad();
            var logp = TapoLogProbs.Compute(model, [Row(TripletImage.Anchor), Row(TripletImage.Anchor)], ids, mask, 1.0, 151643);
            var r = TapoObjective.Compute(new TapoMicroBatch(logp, old, adv, maskF, aug), algorithm);
            r.Loss.backward();
            return (r, model.UniqueParameters().Select(x => x.Parameter.grad!.clone()).ToArray());
        }

        var (r1, g1) = Run(p1);
        var (r2, g2) = Run(p2);

        Assert.Equal(r1.PolicyLoss, r2.PolicyLoss, 12);
        Assert.Equal(r1.OriEntropy, r2.OriEntropy, 12);
        Assert.Equal(r1.PolicyMetrics, r2.PolicyMetrics);
        Assert.NotEqual(r1.KlPrcp, r2.KlPrcp);
        double expectedDelta = -algorithm.KlPrcpCoef * (r1.KlPrcp - r2.KlPrcp) + algorithm.AugEntropyCoef * (r1.AugEntropy - r2.AugEntropy);
        // An absolute tolerance, not rounding to 6 decimals: rounding failed at a boundary (1.40533e-4 vs 1.40488e-4 → 0.000141
        // vs 0.000140). 5e-7 is float32 noise on losses of order 1, and tighter than the rounding's worst case (1e-6).
        Assert.Equal(expectedDelta, r1.Loss.ToDouble() - r2.Loss.ToDouble(), 5e-7);
        // The gradient differs (through the KL term only), so the negative steers the update.
        Assert.Contains(Enumerable.Range(0, g1.Length), i => (g1[i] - g2[i]).abs().max().ToDouble() > 0);
    }

    [Fact]
    public void Tiny_end_to_end_run_on_FGVR_Synth_logs_finite_metrics_and_changes_parameters()
    {
        using var dir = TestPaths.NewTempDir();
        var world = FgvrSynth.Generate(FgvrSynthOptions.Quick, dir.Path);
        var samples = SynthTapoSamples.Load(world.Tapo.Take(4));
        Assert.All(samples, s => Assert.True(s.HasUniformSize));
        var model = TapoTestWorld.Model(seed: 3);
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 2, groups: 2, maxResponse: 4);
        o.Optimization.LearningRate = 1e-3;                                      // visible change on a random tiny model
        var trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(model, TapoTestWorld.Encoder(), samples, o);   // Fine-R1 reward
        float[] Snapshot() => model.lm_head.weight!.detach().flatten().narrow(0, 0, 4096).data<float>().ToArray();

        var before = Snapshot();
        var snapshots = new List<float[]>();
        var logged = trainer.Train(new OnReport(_ => snapshots.Add(Snapshot())));
        Assert.Equal(2, trainer.TotalSteps);
        var (m1, m2) = (logged[0], logged[1]);
        var (afterFirst, afterSecond) = (snapshots[0], snapshots[1]);

        Assert.Equal(2, logged.Count);
        Assert.Equal(0.0, m1.LearningRate);                                      // docs/method.md §9 item 17: lr 0 at step 1
        Assert.Equal(before, afterFirst);
        Assert.Equal(1e-3, m2.LearningRate);
        Assert.NotEqual(afterFirst, afterSecond);
        foreach (var m in logged)
        {
            Assert.Equal(8, m.BatchRows);
            Assert.Equal(2, m.OptimizerSteps);                                   // 2 groups / GlobalBatchSize 1
            foreach (var v in new[] { m.PolicyLoss, m.KlToNegative, m.Entropy, m.NegativeEntropy, m.PpoKl, m.GradNorm })
                Assert.True(double.IsFinite(v), $"non-finite metric in {m}");
            Assert.InRange(m.Reward, 0, 1);
            Assert.InRange(m.Accuracy, 0, 1);
            Assert.InRange(m.FormatRate, 0, 1);
            Assert.InRange(m.ResponseLengthMean, 1, 4);
            Assert.True(m.RolloutSeconds > 0 && m.LogProbSeconds > 0 && m.UpdateSeconds > 0);
            Assert.True(m.Entropy > 0, m.ToString());
        }
    }
}

/// <summary>Synchronous progress sink (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class OnReport(Action<TapoStepMetrics> handler) : IProgress<TapoStepMetrics>
{
    public void Report(TapoStepMetrics value) => handler(value);
}
