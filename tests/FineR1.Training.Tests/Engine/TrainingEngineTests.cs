using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Engine;
using FineR1.Training.Optimization;
using FineR1.Training.Tests.Sft;
using static TorchSharp.torch;
using Kit = FineR1.Training.Tests.Distributed.DistributedTestKit;

namespace FineR1.Training.Tests.Engine;

/// <summary>The training-step core on its own: the step it runs is the optimizer step the trainers used to wire themselves.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TrainingEngineTests
{
    private const int Steps = 3, MicroBatches = 4;

    private static readonly AdamWSettings AdamW = Kit.AdamW with { ExcludeNormsAndBiasesFromDecay = true };

    private static double LearningRate(int step) => AdamW.LearningRate * LearningRateSchedules.CosineWithWarmup(step, 1, Steps);

    private static TrainingEngineOptions Options(ZeroStage stage, string? outputDir = null) => new()
    {
        TrainerName = "test", AdamW = AdamW, OptimizerStates = OptimizerStatePrecision.Float32, MaxGradNorm = 0.5,
        LearningRateSchedule = LearningRate, ZeroStage = stage, Checkpointing = new CheckpointingOptions { OutputDir = outputDir },
    };

    /// <summary>The reference: TrainingOptimizer, the schedule set by hand, micro-batch losses back-propagated, ClipAndStep.</summary>
    private static Dictionary<string, Tensor> ByHand()
    {
        using var model = Kit.NewModel();
        var trainable = Kit.Trainable(model);
        using var optimizer = TrainingOptimizer.Create(trainable, AdamW, OptimizerStatePrecision.Float32);
        for (int step = 0; step < Steps; step++)
        {
            optimizer.LearningRate = LearningRate(step);
            Kit.Backward(model, step, MicroBatches);
            using (NewDisposeScope()) GradientClipping.ClipAndStep(optimizer.Parameters, optimizer.Step, 0.5);
        }
        return trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().clone());
    }

    private static Dictionary<string, Tensor> ThroughTheEngine(ZeroStage stage)
    {
        using var model = Kit.NewModel();
        using var engine = new TrainingEngine(model, Kit.Trainable(model), Options(stage));
        Assert.Null(engine.Start(new TrainerState { Trainer = "test", TotalSteps = Steps }));
        for (int step = 0; step < Steps; step++)
        {
            engine.SchedulerStep = step;
            Assert.Equal(LearningRate(step), engine.LearningRate);
            for (int j = 0; j < MicroBatches; j++)
                engine.Backward(() => Kit.Loss(model, Kit.Tokens(step, j), MicroBatches * 2 * 11));
            Assert.True(engine.Step().Stepped);
        }
        return Kit.Trainable(model).ToDictionary(t => t.Name, t => t.Parameter.detach().clone());
    }

    [Fact]
    public void The_engine_step_is_bit_identical_to_the_optimizer_step_it_replaces()
    {
        var expected = ByHand();
        using var initial = Kit.NewModel();
        Assert.True(Kit.MaxDifference(Kit.Trainable(initial).ToDictionary(t => t.Name, t => t.Parameter.detach().clone()), expected) > 1e-3);
        Assert.Equal(0.0, Kit.MaxDifference(expected, ThroughTheEngine(ZeroStage.None)));
    }

    [Fact]
    public void ZeRO2_over_one_rank_equals_the_replicated_step_in_float32()
    {
        // The norm is summed over the flat shard in float64 instead of per tensor in float32: rounding only.
        Assert.True(Kit.MaxDifference(ByHand(), ThroughTheEngine(ZeroStage.Two)) <= 1e-6);
    }

    [Fact]
    public void A_run_starts_once_and_saving_needs_an_output_folder()
    {
        using var model = Kit.NewModel();
        using var engine = new TrainingEngine(model, Kit.Trainable(model), Options(ZeroStage.None));
        var state = new TrainerState { Trainer = "test", TotalSteps = Steps };
        engine.Start(state);
        Assert.Throws<InvalidOperationException>(() => engine.Start(state));
        Assert.Throws<InvalidOperationException>(() => engine.Save(state));
    }

    [Fact]
    public void A_checkpoint_of_another_run_is_refused_with_the_field_and_the_folder_named()
    {
        using var dir = new TempDir();
        using (var model = Kit.NewModel())
        using (var engine = new TrainingEngine(model, Kit.Trainable(model), Options(ZeroStage.None, dir.Path)))
        {
            engine.Start(new TrainerState { Trainer = "test", TotalSteps = Steps, Seed = 1 });
            engine.Save(new TrainerState { Trainer = "test", TotalSteps = Steps, Seed = 1, GlobalStep = 1 });
        }
        using var other = Kit.NewModel();
        using var resumed = new TrainingEngine(other, Kit.Trainable(other), Options(ZeroStage.None, dir.Path));
        var e = Assert.Throws<TrainingCheckpointException>(() => resumed.Start(new TrainerState { Trainer = "test", TotalSteps = Steps, Seed = 2 }));
        Assert.Contains("seed", e.Message);
        Assert.Contains("checkpoint-1", e.Message);
    }
}
