using FineR1.Core.Checkpoints;
using FineR1.Training.Checkpointing;
using FineR1.Training.Optimization;
using FineR1.Training.Progress;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Checkpointing;

[Collection(FineR1.Training.Tests.Sft.SerialTorchCollection.Name)]
public sealed class TrainingCheckpointsTests
{
    private static TrainingCheckpointContent Content(nn.Module model, long step, IReadOnlyList<KeyValuePair<string, Tensor>>? optimizer = null) =>
        new(model, null, optimizer ?? [], new TrainerState { Trainer = "test", GlobalStep = step, Seed = 3 });

    [Fact]
    public void Save_is_atomic_keeps_the_newest_and_ignores_incomplete_folders()
    {
        using var dir = new TempDir();
        var model = nn.Linear(3, 2);
        foreach (var step in new long[] { 2, 4, 10 }) TrainingCheckpoints.Save(dir.Path, Content(model, step), keepLast: 2);
        Assert.Equal(["checkpoint-4", "checkpoint-10"], TrainingCheckpoints.List(dir.Path).Select(Path.GetFileName));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));                       // no temporary folder left

        // A crash before the rename leaves only a hidden temporary folder; a folder without trainer state is not a checkpoint.
        Directory.CreateDirectory(Path.Combine(dir.Path, ".checkpoint-12.abc.tmp"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "checkpoint-11"));
        Assert.EndsWith("checkpoint-10", TrainingCheckpoints.FindLatest(dir.Path));
        var state = TrainingCheckpoints.ReadState(TrainingCheckpoints.FindLatest(dir.Path)!);
        Assert.Equal((10L, "test", 3), (state.GlobalStep, state.Trainer, state.Seed));
        Assert.Throws<TrainingCheckpointException>(() => TrainingCheckpoints.ReadState(Path.Combine(dir.Path, "checkpoint-11")));
    }

    [Fact]
    public void Replacing_a_step_never_leaves_it_without_a_checkpoint_and_interrupted_saves_are_repaired()
    {
        using var dir = new TempDir();
        var model = nn.Linear(3, 2);
        TrainingCheckpoints.Save(dir.Path, Content(model, 5));
        TrainingCheckpoints.Save(dir.Path, Content(model, 5) with { State = new TrainerState { Trainer = "second", GlobalStep = 5, Seed = 3 } });
        var only = Assert.Single(TrainingCheckpoints.List(dir.Path));
        Assert.Equal("second", TrainingCheckpoints.ReadState(only).Trainer);
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));

        // A crash between "rename the old one aside" and "rename the new one in": the aside copy is put back.
        Directory.Move(only, Path.Combine(dir.Path, ".checkpoint-5.old"));
        var stale = Path.Combine(dir.Path, $".checkpoint-6.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(stale);
        File.WriteAllBytes(Path.Combine(stale, "model.safetensors"), new byte[1000]);
        Assert.Equal("second", TrainingCheckpoints.ReadState(TrainingCheckpoints.FindLatest(dir.Path)!).Trainer);
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));                 // aside restored, temporary folder removed

        // A crash after the new one is in place but before the aside copy is deleted: the aside copy goes.
        Directory.CreateDirectory(Path.Combine(dir.Path, ".checkpoint-5.old"));
        Assert.Single(TrainingCheckpoints.List(dir.Path));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".*"));
    }

    [Fact]
    public void Trainer_state_round_trips_with_snake_case_keys()
    {
        var state = new TrainerState { Trainer = "sft", GlobalStep = 7, TotalSteps = 70, Epoch = 1, ExamplesConsumedInEpoch = 64, TorchRngState = "AAE=" };
        state.LogHistory.Add(new() { ["loss"] = 1.25, ["grad_norm"] = double.NaN });
        state.Extra["k"] = "v";
        var json = state.ToJson();
        Assert.Contains("\"global_step\": 7", json);
        Assert.Contains("\"examples_consumed_in_epoch\": 64", json);
        var back = TrainerState.Parse(json);
        Assert.Equal((7L, 70L, 1, 64L, "AAE="), (back.GlobalStep, back.TotalSteps, back.Epoch, back.ExamplesConsumedInEpoch, back.TorchRngState));
        Assert.Equal(1.25, back.LogHistory[0]["loss"]);
        Assert.True(double.IsNaN(back.LogHistory[0]["grad_norm"]));
        Assert.Throws<TrainingCheckpointException>(() => TrainerState.Parse("{ nope", "x.json"));
    }

    [Fact]
    public void Torch_rng_state_is_restored()
    {
        torch.manual_seed(5);
        var saved = TrainingCheckpoints.CaptureTorchRng();
        var a = torch.rand(4).data<float>().ToArray();
        TrainingCheckpoints.RestoreTorchRng(saved);
        Assert.Equal(a, torch.rand(4).data<float>().ToArray());
    }

    private static (Linear Model, List<string> Names) TwoParameterModel(int seed)
    {
        torch.manual_seed(seed);
        var m = nn.Linear(4, 3);
        return (m, m.named_parameters().Select(p => p.name).ToList());
    }

    private static void Backward(Linear m, int seed)
    {
        torch.manual_seed(100 + seed);
        m.forward(torch.randn(5, 4).to(m.weight!.dtype)).to(ScalarType.Float32).pow(2).sum().backward();
    }

    [Fact]
    public void AdamW_state_round_trip_continues_identically()
    {
        using var dir = new TempDir();
        var (a, names) = TwoParameterModel(1);
        var optA = optim.AdamW(a.parameters(), 0.01, weight_decay: 0.1);
        for (int i = 0; i < 3; i++) { Backward(a, i); optA.step(); optA.zero_grad(); }
        var file = Path.Combine(dir.Path, "opt.safetensors");
        SafetensorsWriter.Write(file, OptimizerStates.Export(optA, names));
        var (b, _) = TwoParameterModel(2);
        using (torch.no_grad()) foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) pb.copy_(pa);
        var optB = optim.AdamW(b.parameters(), 0.01, weight_decay: 0.1);
        using (var f = SafetensorsFile.Open(file)) OptimizerStates.Import(optB, names, f);
        Backward(a, 3); optA.step();
        Backward(b, 3); optB.step();
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) Assert.Equal(pa.data<float>().ToArray(), pb.data<float>().ToArray());
    }

    [Fact]
    public void AnyPrecisionAdamW_state_round_trip_continues_identically()
    {
        using var dir = new TempDir();
        var settings = new AdamWSettings(1e-3, 0.1);
        var (a, names) = TwoParameterModel(1);
        a.to(ScalarType.BFloat16);
        using var optA = new AnyPrecisionAdamW(a.parameters(), settings, ScalarType.Float32);
        for (int i = 0; i < 3; i++) { Backward(a, i); optA.Step(); optA.ZeroGrad(); }
        var file = Path.Combine(dir.Path, "opt.safetensors");
        var exported = OptimizerStates.Export(optA, names);
        Assert.Contains(exported, kv => kv.Key == "weight.compensation");
        SafetensorsWriter.Write(file, exported);
        var (b, _) = TwoParameterModel(2);
        b.to(ScalarType.BFloat16);
        using (torch.no_grad()) foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) pb.copy_(pa);
        using var optB = new AnyPrecisionAdamW(b.parameters(), settings, ScalarType.Float32);
        using (var f = SafetensorsFile.Open(file)) OptimizerStates.Import(optB, names, f);
        for (int i = 3; i < 5; i++)
        {
            Backward(a, i); optA.Step(); optA.ZeroGrad();
            Backward(b, i); optB.Step(); optB.ZeroGrad();
        }
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
            Assert.Equal(pa.to(ScalarType.Float32).data<float>().ToArray(), pb.to(ScalarType.Float32).data<float>().ToArray());
    }

    [Fact]
    public void Missing_optimizer_state_is_a_clear_error()
    {
        using var dir = new TempDir();
        var (a, names) = TwoParameterModel(1);
        var file = Path.Combine(dir.Path, "opt.safetensors");
        SafetensorsWriter.Write(file, [new("other", torch.zeros(1))]);
        using var f = SafetensorsFile.Open(file);
        var e = Assert.Throws<TrainingCheckpointException>(() => OptimizerStates.Import(optim.AdamW(a.parameters()), names, f));
        Assert.Contains("weight", e.Message);
    }

    [Fact]
    public void Metrics_file_is_cut_back_to_the_resumed_step()
    {
        using var dir = new TempDir();
        var path = dir.File("metrics.jsonl");
        using (var w = new MetricsJsonlWriter(path))
            for (int s = 1; s <= 5; s++) w.Write(new Dictionary<string, object?> { ["step"] = s, ["loss"] = 1.0 / s });
        File.AppendAllText(path, "{\"step\": 6, \"lo");                            // torn line of a crash
        MetricsJsonlWriter.TruncateAfterStep(path, 3);
        Assert.Equal(3, File.ReadAllLines(path).Length);
        Assert.StartsWith("{\"step\":3", File.ReadAllLines(path)[^1]);
    }
}
