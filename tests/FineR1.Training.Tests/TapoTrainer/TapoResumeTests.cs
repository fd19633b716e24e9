using System.Text.Json.Nodes;
using FineR1.Core.Text.Rewards;
using FineR1.Training.Checkpointing;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Trainer;
using static TorchSharp.torch;
using Trainer = FineR1.Training.Tapo.Trainer.TapoTrainer;

namespace FineR1.Training.Tests.TapoTrainer;

/// <summary>Checkpoints and exact resume of the TAPO trainer (issue 5 deliverable 6). Seeds torch: serial.</summary>
[Collection(FineR1.Training.Tests.Sft.SerialTorchCollection.Name)]
[Trait("Category", "Resume")]
public sealed class TapoResumeTests
{
    private static List<TapoSample> Samples(int count = 4) => Enumerable.Range(0, count).Select(i => TapoTestWorld.Sample(40 + i)).ToList();

    /// <summary>4 samples, 2 per draw (2 draws per epoch, so 4 steps cross an epoch), 1 group per step, lr 1e-3.</summary>
    private static TapoOptions Options(string outputDir, int saveEvery)
    {
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 2, groups: 1, maxResponse: 4);
        o.Optimization.LearningRate = 1e-3;
        o.Checkpointing.OutputDir = outputDir;
        o.Checkpointing.SaveEverySteps = saveEvery;
        o.Checkpointing.KeepLast = 0;
        return o;
    }

    private static Trainer NewTrainer(int modelSeed, TapoOptions o, IReadOnlyList<TapoSample>? samples = null) =>
        new(TapoTestWorld.Model(modelSeed), TapoTestWorld.Encoder(), samples ?? Samples(), o, new ParityReward());

    /// <summary>metrics.jsonl without the wall-clock timings (the only values allowed to differ).</summary>
    private static List<string> MetricLines(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
        .Select(l => { var o = JsonNode.Parse(l)!.AsObject(); foreach (var k in o.Select(p => p.Key).Where(k => k.StartsWith("timing/")).ToList()) o.Remove(k); return o.ToJsonString(); })
        .ToList();

    private static TapoStepMetrics NoTimings(TapoStepMetrics m) => m with { RolloutSeconds = 0, LogProbSeconds = 0, UpdateSeconds = 0 };

    [Fact]
    public void Two_steps_then_resume_then_two_steps_equals_four_uninterrupted_steps()
    {
        using var dirA = TestPaths.NewTempDir();
        using var dirB = TestPaths.NewTempDir();

        List<TapoStepMetrics> straight;
        float[][] straightWeights;
        using (var a = NewTrainer(3, Options(dirA.Path, saveEvery: 2)))
        {
            straight = Enumerable.Range(0, 4).Select(_ => a.Step()).ToList();
            straightWeights = Weights(a);
        }

        using (var b1 = NewTrainer(3, Options(dirB.Path, saveEvery: 2)))
        {
            b1.Step();
            Assert.Null(b1.ResumedFrom);
            b1.Step();
            Assert.EndsWith("checkpoint-2", b1.LastCheckpoint);
        }
        // A different initial model: everything must come from the checkpoint.
        using var b2 = NewTrainer(99, Options(dirB.Path, saveEvery: 2));
        Assert.Null(b2.ResumedFrom);                                            // the run starts with the first Train or Step call
        Assert.Empty(b2.Train(cancellationToken: new CancellationToken(canceled: true)));   // starts (resumes) without a step
        Assert.EndsWith("checkpoint-2", b2.ResumedFrom);
        Assert.Equal(2, b2.StepCount);
        var resumed = new[] { b2.Step(), b2.Step() };

        Assert.Equal(4, b2.StepCount);
        Assert.Equal(straight.Skip(2).Select(NoTimings), resumed.Select(NoTimings));
        Assert.Equal([3, 4], resumed.Select(m => m.Step));
        Assert.All(resumed, m => Assert.Equal(1e-3, m.LearningRate));
        Assert.Contains(straight, m => m.PolicyLoss != 0);                      // the comparison is not of zeros
        Assert.True(straight[3].GradNorm > 0);
        var resumedWeights = Weights(b2);
        Assert.Equal(straightWeights.Length, resumedWeights.Length);
        for (int i = 0; i < straightWeights.Length; i++) Assert.Equal(straightWeights[i], resumedWeights[i]);
        var initial = TapoTestWorld.Model(3).UniqueParameters()
            .Select(p => p.Parameter.detach().to_type(ScalarType.Float32).flatten().data<float>().ToArray()).ToArray();
        Assert.Contains(Enumerable.Range(0, initial.Length), i => !initial[i].SequenceEqual(straightWeights[i]));   // training moved them

        var linesA = MetricLines(dirA.Path);
        Assert.Equal(4, linesA.Count);
        Assert.Equal(linesA, MetricLines(dirB.Path));                           // steps 1–2 from the first run, 3–4 after resume
        Assert.Equal(["checkpoint-2", "checkpoint-4"], TrainingCheckpoints.List(dirA.Path).Select(Path.GetFileName));
        var state = TrainingCheckpoints.ReadState(TrainingCheckpoints.FindLatest(dirB.Path)!);
        Assert.Equal("tapo", state.Trainer);
        Assert.Equal(4, state.GlobalStep);
        Assert.Equal(4, state.LogHistory.Count);
        Assert.NotNull(state.TorchRngState);
        Assert.Equal("1", state.Extra["loader_epoch"]);                         // 4 draws over 2 per epoch
        Assert.Equal("4", state.Extra["scheduler_step"]);
        Assert.True(File.Exists(Path.Combine(TrainingCheckpoints.FindLatest(dirB.Path)!, "config.json")));
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_of_another_dataset_and_metrics_after_the_checkpoint_are_dropped()
    {
        using var dir = TestPaths.NewTempDir();
        using (var t = NewTrainer(3, Options(dir.Path, saveEvery: 1)))
        {
            t.Step();
            t.SaveCheckpoint();
        }
        // Simulate a crash after a later step's metrics line was written but before its checkpoint.
        File.AppendAllText(Path.Combine(dir.Path, "metrics.jsonl"), "{\"step\":2,\"reward/overall\":0.5}\n{\"step\":3,");

        using (var other = NewTrainer(3, Options(dir.Path, saveEvery: 1), Samples(6)))
        {
            var e = Assert.Throws<TrainingCheckpointException>(() => other.Step());
            Assert.Contains("samples", e.Message);
            Assert.Contains("checkpoint-1", e.Message);
        }

        using var resumed = NewTrainer(3, Options(dir.Path, saveEvery: 1));
        resumed.Train(cancellationToken: new CancellationToken(canceled: true));
        Assert.Equal(1, resumed.StepCount);
        var lines = File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl"));
        Assert.Single(lines);
        Assert.Contains("\"step\":1", lines[0]);
    }

    [Fact]
    public void Train_cancelled_between_steps_saves_a_checkpoint_to_resume_from()
    {
        using var dir = TestPaths.NewTempDir();
        using var cancel = new CancellationTokenSource();
        var reports = new List<TapoStepMetrics>();
        using (var t = NewTrainer(3, Options(dir.Path, saveEvery: 0)))   // no periodic checkpoints
        {
            var ran = t.Train(new OnReport(m => { reports.Add(m); cancel.Cancel(); }), cancel.Token);
            Assert.Single(ran);
            Assert.Equal(ran, reports);
            Assert.Equal("checkpoint-1", Path.GetFileName(t.LastCheckpoint));
        }
        using var resumed = NewTrainer(3, Options(dir.Path, saveEvery: 0));
        Assert.Empty(resumed.Train(cancellationToken: new CancellationToken(canceled: true)));
        Assert.Equal(1, resumed.StepCount);
    }

    private static float[][] Weights(Trainer t) =>
        t.TrainableParameters.Select(p => p.detach().to_type(ScalarType.Float32).flatten().data<float>().ToArray()).ToArray();
}

/// <summary>Stateless reward (resume-safe): accuracy 1 when the response's character sum is even.</summary>
internal sealed class ParityReward : IRewardFunction
{
    public RewardScore Score(string response, string groundTruth)
    {
        double accuracy = response.Sum(c => (int)c) % 2 == 0 ? 1 : 0;
        return new RewardScore(0.9 * accuracy + 0.1, 1, accuracy);
    }
}
