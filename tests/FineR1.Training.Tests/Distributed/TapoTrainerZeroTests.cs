using FineR1.Core.Modeling;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Trainer;
using FineR1.Training.Tests.Sft;
using FineR1.Training.Tests.TapoTrainer;
using TorchSharp;
using static TorchSharp.torch;
using TapoTrainerClass = FineR1.Training.Tapo.Trainer.TapoTrainer;

namespace FineR1.Training.Tests.Distributed;

/// <summary>
/// <see cref="TapoTrainerClass"/> with ZeRO-2 on 2 and 4 in-process ranks against one process, and its sharded checkpoints.
/// Each prompt's rollouts are generated with a seed of their own (through the trainer's rollout hook), so every world
/// size trains on the same rollouts; what is compared is everything after generation.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TapoTrainerZeroTests(ITestOutputHelper output)
{
    private static readonly List<TapoSample> Samples = Enumerable.Range(0, 8).Select(i => TapoTestWorld.Sample(60 + i)).ToList();

    /// <summary>8 samples, 4 prompts per draw, 2 groups per step (4 RL steps); a micro-batch holds a whole mini-batch (one
    /// group), where the data-parallel token mean equals the one-process loss; lr 1e-3 with ε 1e-5 (see DistributedTestKit.AdamW).</summary>
    private static TapoOptions Options(string folder, ZeroStage stage)
    {
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 4, groups: 2, maxResponse: 4);
        o.Optimization.LearningRate = 1e-3;
        o.Optimization.AdamEpsilon = 1e-5;
        o.Optimization.MicroBatchSize = 4;
        o.Checkpointing.OutputDir = folder;
        o.Checkpointing.SaveEverySteps = 2;
        o.Checkpointing.KeepLast = 0;
        o.DataParallel.ZeroStage = stage;
        return o;
    }

    private static TapoTrainerClass Trainer(Qwen2_5_VLForConditionalGeneration model, TapoOptions o, IGradientSynchronizer? sync)
    {
        var trainer = new TapoTrainerClass(model, TapoTestWorld.Encoder(), Samples, o, new ParityReward(), gradientSynchronizer: sync);
        // Rollouts of prompt "p{k}" are drawn with seed k alone, whichever rank generates them.
        trainer.GenerateRollouts = (draw, _) =>
            draw.SelectMany(p => trainer.RolloutEngine.Generate([p], 1_000_003UL * ulong.Parse(p.GroupId[1..], System.Globalization.CultureInfo.InvariantCulture) + 17)).ToList();
        return trainer;
    }

    /// <summary><paramref name="steps"/> RL steps on <paramref name="world"/> ranks (ZeRO-2); every rank's metrics and weights.</summary>
    private static (List<TapoStepMetrics> Metrics, Dictionary<string, Tensor> Weights, string? ResumedFrom)[] Ranks(int world, string folder, int steps,
        int seed = 3)
    {
        var models = Enumerable.Range(0, world).Select(r => TapoTestWorld.Model(seed + r)).ToArray();   // rank 0's weights are broadcast
        try
        {
            return ThreadedProcessGroup.Run(world, comm =>
            {
                using var trainer = Trainer(models[comm.Rank], Options(folder, ZeroStage.Two), new AllReduceGradientSynchronizer(comm));
                var metrics = Enumerable.Range(0, steps).Select(_ => trainer.Step()).ToList();
                return (metrics, SftTestKit.Snapshot(models[comm.Rank]), trainer.ResumedFrom);
            }, TimeSpan.FromSeconds(300));
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    private static TapoStepMetrics NoTimings(TapoStepMetrics m) => m with { RolloutSeconds = 0, LogProbSeconds = 0, UpdateSeconds = 0 };

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ZeRO2_TAPO_steps_equal_the_single_process_steps(int world)
    {
        using var singleDir = new TempDir();
        using var single = TapoTestWorld.Model(3);
        List<TapoStepMetrics> expected;
        using (var trainer = Trainer(single, Options(singleDir.Path, ZeroStage.None), null))
            expected = Enumerable.Range(0, 3).Select(_ => trainer.Step()).ToList();   // step 1 has learning rate 0 (warm-up)
        Assert.Contains(expected, m => m.OptimizerSteps > 0 && m.GradNorm > 0);

        using var dir = new TempDir();
        var ranks = Ranks(world, dir.Path, steps: 3);
        foreach (var r in ranks) Assert.Equal(0.0, DistributedTestKit.MaxDifference(ranks[0].Weights, r.Weights));   // replicas identical
        for (int s = 0; s < 3; s++)
        {
            var (a, b) = (expected[s], ranks[0].Metrics[s]);
            Assert.Equal((a.BatchRows, a.GroupsKept, a.Draws, a.OptimizerSteps), (b.BatchRows, b.GroupsKept, b.Draws, b.OptimizerSteps));
            Assert.Equal(a.Reward, b.Reward, 1e-12);                                      // summed over ranks in another order
            Assert.Equal(a.PolicyLoss, b.PolicyLoss, 1e-6);
            Assert.Equal(a.GradNorm, b.GradNorm, 1e-5);
        }
        double difference = DistributedTestKit.MaxDifference(SftTestKit.Snapshot(single), ranks[0].Weights);
        output.WriteLine($"TAPO ZeRO-2 world {world}: max |Δw| vs one process = {difference:E2}");
        Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
        for (int r = 0; r < world; r++)
            Assert.True(File.Exists(Path.Combine(dir.Path, "checkpoint-2", ZeroCheckpoints.ShardFileName(r, world))));
    }

    [Theory]
    [Trait("Category", "Resume")]
    [InlineData(2, 2)]
    [InlineData(2, 1)]
    public void ZeRO2_TAPO_checkpoint_resumes_on_the_same_or_another_world_size(int savedWorld, int resumedWorld)
    {
        using var straightDir = new TempDir();
        var straight = Ranks(savedWorld, straightDir.Path, steps: 4);
        using var dir = new TempDir();
        Ranks(savedWorld, dir.Path, steps: 2);                                         // writes checkpoint-2 (every rank its shard)
        var resumed = Ranks(resumedWorld, dir.Path, steps: 2, seed: 99);               // other initial weights
        Assert.EndsWith("checkpoint-2", resumed[0].ResumedFrom);
        Assert.Equal([3, 4], resumed[0].Metrics.Select(m => m.Step));
        double difference = DistributedTestKit.MaxDifference(straight[0].Weights, resumed[0].Weights);
        output.WriteLine($"TAPO ZeRO-2 saved on {savedWorld}, resumed on {resumedWorld}: max |Δw| = {difference:E2}");
        if (savedWorld == resumedWorld)
        {
            Assert.Equal(straight[0].Metrics.Skip(2).Select(NoTimings), resumed[0].Metrics.Select(NoTimings));
            Assert.Equal(0.0, difference);                                               // exact
        }
        else Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
    }
}
