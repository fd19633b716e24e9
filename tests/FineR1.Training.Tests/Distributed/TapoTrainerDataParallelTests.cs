using FineR1.Training.Distributed;
using FineR1.Training.Tests.Sft;
using FineR1.Training.Tests.TapoTrainer;
using TorchSharp;
using TapoTrainerClass = FineR1.Training.Tapo.Trainer.TapoTrainer;

namespace FineR1.Training.Tests.Distributed;

/// <summary>The TAPO trainer through its gradient-synchronizer seam on two in-process ranks.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TapoTrainerDataParallelTests
{
    [Fact]
    public void Two_ranks_split_the_prompts_decide_dynamic_sampling_globally_and_stay_identical()
    {
        // Prompts of the draw: rank 0 gets "always" and "never" (both groups dropped), rank 1 the two "mixed" ones.
        var samples = new[] { "always", "never", "mixed", "mixed" }.Select((a, i) => TapoTestWorld.Sample(10 + i, a)).ToList();
        var models = new[] { TapoTestWorld.Model(), TapoTestWorld.Model(seed: 5) };    // rank 1's weights are replaced by rank 0's
        using var dir = new TempDir();
        var before = SftTestKit.Snapshot(models[0]);
        var results = ThreadedProcessGroup.Run(2, comm =>
        {
            var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 4, groups: 2);
            o.Checkpointing.OutputDir = dir.Path;
            o.Checkpointing.SaveEverySteps = 1;
            using var trainer = new TapoTrainerClass(models[comm.Rank], TapoTestWorld.Encoder(), samples, o, new ScriptedReward(),
                gradientSynchronizer: new AllReduceGradientSynchronizer(comm));
            trainer.Step();                                      // the recipe's first step has learning rate 0 (warm-up)
            var metrics = trainer.Step();
            return (metrics, trainer.LastCheckpoint, Weights: SftTestKit.Snapshot(models[comm.Rank]));
        }, TimeSpan.FromSeconds(120));

        foreach (var (m, checkpoint, _) in results)
        {
            Assert.Equal(8, m.BatchRows);                   // 2 groups × 2n rows, all generated on rank 1
            Assert.Equal(1, m.Draws);
            Assert.Equal(4, m.GroupsGenerated);
            Assert.Equal(2, m.GroupsKept);
            Assert.Equal(0.5, m.Accuracy);
            Assert.Equal((1 + 0 + 0.5 + 0.5) / 4.0, m.GeneratedAccuracy);
            Assert.True(m.OptimizerSteps >= 1);
            Assert.EndsWith("checkpoint-2", checkpoint);
        }
        Assert.Equal(0.0, DistributedTestKit.MaxDifference(results[0].Weights, results[1].Weights));   // replicas identical
        Assert.True(DistributedTestKit.MaxDifference(before, results[0].Weights) > 0, "the step must change the weights");
        Assert.True(File.Exists(Path.Combine(dir.Path, "checkpoint-2", "model.safetensors")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl")).Length);   // rank 0 alone writes metrics
        foreach (var m in models) m.Dispose();
    }
}
