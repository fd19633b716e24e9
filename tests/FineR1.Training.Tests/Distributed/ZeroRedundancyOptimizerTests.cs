using FineR1.Core.Modeling;
using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using static TorchSharp.torch;
using Kit = FineR1.Training.Tests.Distributed.DistributedTestKit;

namespace FineR1.Training.Tests.Distributed;

/// <summary>ZeRO-2 over 1, 2 and 4 in-process ranks against the single-process optimizer step, and its sharded checkpoints.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ZeroRedundancyOptimizerTests(ITestOutputHelper output)
{
    private const int MicroBatches = 4;

    /// <summary>Rank r trains on micro-batches j with j mod world = r; returns every rank's final weights.</summary>
    private static Dictionary<string, Tensor>[] Sharded(int world, int steps, double maxNorm, ScalarType dtype = ScalarType.Float32, bool kahan = false,
        Func<ICommunicator, Qwen2_5_VLForConditionalGeneration, ZeroRedundancyOptimizer, int>? resume = null, int seed = 11)
    {
        var models = Enumerable.Range(0, world).Select(_ => Kit.NewModel(seed, dtype)).ToArray();   // built before the threads: torch's global RNG
        try
        {
            return ThreadedProcessGroup.Run(world, comm =>
            {
                var model = models[comm.Rank];
                var trainable = Kit.Trainable(model);
                using var zero = new ZeroRedundancyOptimizer(trainable, comm, new ZeroSettings(Kit.AdamW, ScalarType.Float32, kahan, ReduceOp.Sum), Kit.Decays);
                int start = resume?.Invoke(comm, model, zero) ?? 0;
                for (int step = start; step < steps; step++)
                {
                    Kit.Backward(model, step, MicroBatches, comm.Rank, world);
                    var result = zero.Step(maxNorm);
                    Assert.True(result.Stepped);
                }
                return trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().cpu().clone());
            }, TimeSpan.FromSeconds(120));
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Sharded_steps_equal_the_single_process_steps_in_float32(int world)
    {
        // maxNorm 0.5 clips (the tiny model's gradient norm is above it), so the global norm's all-reduce is exercised.
        var reference = Kit.SingleProcess(steps: 3, MicroBatches, maxNorm: 0.5);
        var ranks = Sharded(world, steps: 3, maxNorm: 0.5);
        using var initial = Kit.NewModel();
        var start = Kit.Trainable(initial).ToDictionary(t => t.Name, t => t.Parameter.detach().clone());
        Assert.True(Kit.MaxDifference(start, reference) > 1e-3, "the steps must move the weights");
        foreach (var rank in ranks) Assert.Equal(0.0, Kit.MaxDifference(ranks[0], rank));          // replicas identical
        double difference = Kit.MaxDifference(reference, ranks[0]);
        output.WriteLine($"world {world}: max |Δw| vs single process = {difference:E2}");
        // Summation order of the gradients differs (per-rank partial sums, float64 norm): float32 rounding only.
        Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
    }

    [Fact]
    public void One_rank_in_bfloat16_with_Kahan_summation_is_bit_identical_to_AnyPrecisionAdamW()
    {
        var reference = Kit.SingleProcess(steps: 2, MicroBatches, maxNorm: 1e9, ScalarType.BFloat16, kahan: true);
        var ranks = Sharded(1, steps: 2, maxNorm: 1e9, ScalarType.BFloat16, kahan: true);
        Assert.Equal(0.0, Kit.MaxDifference(reference, ranks[0]));
    }

    [Fact]
    public void Two_ranks_in_bfloat16_stay_within_one_bfloat16_rounding_step_of_the_single_process()
    {
        var reference = Kit.SingleProcess(steps: 2, MicroBatches, maxNorm: 1e9, ScalarType.BFloat16, kahan: true);
        var ranks = Sharded(2, steps: 2, maxNorm: 1e9, ScalarType.BFloat16, kahan: true);
        output.WriteLine($"bf16 world 2: max |Δw| = {Kit.MaxDifference(reference, ranks[0]):E2}");
        // bf16 gradients summed in another order round differently. Adam moves a weight by at most about lr per step
        // whatever its gradient, so element-wise the weights may differ by lr × steps plus one bf16 step of the weight
        // (2^(⌊log2 |w|⌋ − 7)), never more; a bug (a wrong shard, a missed reduction) moves weights by far more.
        foreach (var (name, w) in reference)
        {
            var w64 = w.to_type(ScalarType.Float64);
            var ulp = pow(2.0, w64.abs().clamp_min(1e-30).log2().floor() - 7);
            var excess = ((w64 - ranks[0][name].to_type(ScalarType.Float64)).abs() - ulp - 2 * Kit.AdamW.LearningRate).max().ToDouble();
            Assert.True(excess <= 0, $"{name}: a weight differs by more than 2·lr + one bf16 step");
        }
    }

    [Fact]
    public void Layout_pads_to_the_world_size_and_splits_shards_at_the_decay_boundary()
    {
        var layout = new FlatLayout([("a", [2, 3], true), ("b", [3], false)], 4);
        Assert.Equal(9, layout.Total);
        Assert.Equal(12, layout.Padded);
        Assert.Equal(3, layout.ShardSize);
        Assert.Equal([(0L, 3L, true)], layout.Runs(1));
        Assert.Equal([(0L, 3L, false)], layout.Runs(2));
        var split = new FlatLayout([("a", [4], true), ("b", [4], false)], 2);
        Assert.Equal([(0L, 4L, true)], split.Runs(0));
        var mixed = new FlatLayout([("a", [3], true), ("b", [3], false)], 2);
        Assert.Equal([(0L, 3L, true)], mixed.Runs(0));
        Assert.Equal([(0L, 3L, false)], mixed.Runs(1));
        var straddle = new FlatLayout([("a", [5], true), ("b", [3], false)], 2);
        Assert.Equal([(0L, 1L, true), (1L, 3L, false)], straddle.Runs(1));
    }

    private static Func<ICommunicator, Qwen2_5_VLForConditionalGeneration, ZeroRedundancyOptimizer, int> SaveAfter(string folder, int steps) =>
        (comm, model, zero) =>
        {
            for (int step = 0; step < steps; step++)
            {
                Kit.Backward(model, step, MicroBatches, comm.Rank, comm.WorldSize);
                zero.Step(0.5);
            }
            ZeroCheckpoints.Save(folder, steps, zero, () => new TrainingCheckpointContent(model, model.Config, [],
                new TrainerState { Trainer = "zero-test", GlobalStep = steps, TotalSteps = 4 }));
            return int.MaxValue;   // stop: this run only writes the checkpoint
        };

    [Theory]
    [Trait("Category", "Resume")]
    [InlineData(2, 2)]
    [InlineData(2, 4)]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    public void Sharded_checkpoint_resumes_on_the_same_or_another_world_size(int savedWorld, int resumedWorld)
    {
        using var dir = new TempDir();
        var uninterrupted = Sharded(savedWorld, steps: 4, maxNorm: 0.5);
        Sharded(savedWorld, steps: 4, maxNorm: 0.5, resume: SaveAfter(dir.Path, 2));
        var folder = Path.Combine(dir.Path, "checkpoint-2");
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        for (int r = 0; r < savedWorld; r++) Assert.True(File.Exists(Path.Combine(folder, ZeroCheckpoints.ShardFileName(r, savedWorld))));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));                        // staging folder gone

        var resumed = Sharded(resumedWorld, steps: 4, maxNorm: 0.5, seed: 99, resume: (comm, model, zero) =>
        {
            ZeroCheckpoints.Load(folder, zero, model);
            Assert.Equal(2, zero.StepCount);
            return 2;
        });
        double difference = Kit.MaxDifference(uninterrupted[0], resumed[0]);
        output.WriteLine($"saved on {savedWorld}, resumed on {resumedWorld}: max |Δw| = {difference:E2}");
        if (savedWorld == resumedWorld) Assert.Equal(0.0, difference);                   // exact
        else Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");           // only the reduction order differs
    }

    [Fact]
    [Trait("Category", "Resume")]
    public void Missing_shards_and_other_models_are_refused_with_the_rank_named()
    {
        using var dir = new TempDir();
        Sharded(2, steps: 1, maxNorm: 0.5, resume: SaveAfter(dir.Path, 1));
        var folder = Path.Combine(dir.Path, "checkpoint-1");
        File.Delete(Path.Combine(folder, ZeroCheckpoints.ShardFileName(1, 2)));
        var e = Assert.Throws<DistributedException>(() => Sharded(1, 1, 0.5, resume: (comm, model, zero) =>
        {
            ZeroCheckpoints.Load(folder, zero, model);
            return 1;
        }));
        var inner = Assert.IsType<TrainingCheckpointException>(e.InnerException);
        Assert.Contains("rank 1 (of 2) are missing", inner.Message);
    }
}
