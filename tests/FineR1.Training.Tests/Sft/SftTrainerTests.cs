using FineR1.Core.Processing;
using FineR1.Core.Diagnostics;
using FineR1.Core.Checkpoints;
using FineR1.Training.Checkpointing;
using FineR1.Training.Sft;
using TorchSharp;

namespace FineR1.Training.Tests.Sft;

/// <summary>End-to-end SFT on the CPU: tiny model with the real vocabulary, FGVR-Synth Stage-1 records.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class SftTrainerTests(SftSynthFixture data) : IClassFixture<SftSynthFixture>
{
    /// <summary>Synchronous progress sink (Progress&lt;T&gt; would post to a thread pool).</summary>
    private sealed class Collect(Action<SftProgress>? onReport = null) : IProgress<SftProgress>
    {
        public List<SftProgress> Reports { get; } = [];
        public void Report(SftProgress value) { Reports.Add(value); onReport?.Invoke(value); }
    }

    private static SftOptions Options(string output, int epochs) => new()
    {
        MaxLength = 200,               // prompt (~110 tokens incl. 16 image tokens) + the start of the ≈ 130-token CoT turn
        MicroBatchSize = 2,
        GradientAccumulationSteps = 2,
        Epochs = epochs,
        LearningRate = 2e-3,
        WarmupSteps = 1,
        Checkpointing = { OutputDir = output, SaveEverySteps = 0, KeepLast = 2 },
    };

    private static readonly FineR1.Core.Imaging.Qwen2VLImageProcessor Processor = new(new() { MaxPixels = 768 * 768, MinPixels = 32 * 32 });

    /// <summary>The first <paramref name="count"/> synth records encoded with the real tokenizer, renumbered to a compact vocabulary.</summary>
    private (IReadOnlyList<SftExample> Examples, CompactVocabulary Vocabulary) Examples(int count)
    {
        var real = new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 200).EncodeAll(data.Records.Take(count).ToList(), "cot.json");
        var vocabulary = new CompactVocabulary(new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 200).EncodeAll(data.Records.Take(12).ToList()));
        return (vocabulary.Apply(real), vocabulary);
    }

    private static SftTrainer Trainer(CompactVocabulary vocabulary, SftOptions options, int seed = 7) =>
        new(SftTestKit.NewModel(seed, vocabulary.Config), SftTestKit.Tokenizer, options) { PadTokenId = vocabulary.PadTokenId };

    [Fact]
    public void Loss_falls_trainable_weights_change_frozen_ones_do_not()
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(8);
        var options = Options(dir.Path, epochs: 6);
        options.LearningRate = 1e-2;
        var trainer = Trainer(vocabulary, options);
        var model = (FineR1.Core.Modeling.Qwen2_5_VLForConditionalGeneration)typeof(SftTrainer)
            .GetField("_model", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(trainer)!;
        var before = SftTestKit.Snapshot(model);
        Assert.Contains(examples, e => e.Truncated);
        var result = trainer.Train(examples);

        Assert.True(result.Completed);
        Assert.Equal(12, result.TotalSteps);                      // 8 examples / (2 × 2) = 2 steps per epoch × 6
        var losses = result.Steps.Select(s => s.Loss).ToArray();
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses[^2..].Average() < 0.9 * losses[..2].Average(), $"losses: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        Assert.Equal(0.0, result.Steps[0].LearningRate);          // HF warm-up: step 0 has lr 0
        Assert.All(result.Steps, s => Assert.True(s.Stepped));

        var after = SftTestKit.Snapshot(model);
        foreach (var (name, tensor) in before)
        {
            bool same = tensor.Same(after[name]);
            if (name.StartsWith("model.visual.", StringComparison.Ordinal)) Assert.True(same, $"{name} changed but is frozen");
            else Assert.False(same, $"{name} did not change");
        }

        // The final checkpoint is a complete HF folder that loads back bit-exactly.
        var folder = Assert.IsType<string>(result.LastCheckpoint);
        foreach (var f in new[] { "config.json", "model.safetensors", TrainingCheckpoints.StateFileName, TrainingCheckpoints.OptimizerFileName })
            Assert.True(File.Exists(Path.Combine(folder, f)), f);
        var reloaded = SftTestKit.NewModel(99, vocabulary.Config);
        CheckpointLoader.Load(reloaded, folder);
        var loaded = SftTestKit.Snapshot(reloaded);
        Assert.All(after, kv => Assert.True(kv.Value.Same(loaded[kv.Key]), kv.Key));
        Assert.Equal(12, File.ReadAllLines(Path.Combine(dir.Path, "metrics.jsonl")).Length);
        Assert.Equal(12, TrainingCheckpoints.ReadState(folder).LogHistory.Count);
    }

    [Fact]
    public void Switches_train_the_vision_tower_and_merger()
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(8);
        var options = Options(dir.Path, epochs: 1);
        options.TrainVisionTower = true;
        options.TrainMultiModalProjector = true;
        options.TrainLanguageModel = false;
        options.WarmupSteps = 0;
        var model = SftTestKit.NewModel(7, vocabulary.Config);
        var before = SftTestKit.Snapshot(model);
        new SftTrainer(model, SftTestKit.Tokenizer, options) { PadTokenId = vocabulary.PadTokenId }.Train(examples);
        var after = SftTestKit.Snapshot(model);
        Assert.False(before["model.visual.blocks.0.mlp.up_proj.weight"].Same(after["model.visual.blocks.0.mlp.up_proj.weight"]));
        Assert.False(before["model.visual.merger.mlp.0.weight"].Same(after["model.visual.merger.mlp.0.weight"]));
        Assert.True(before["model.language_model.layers.0.self_attn.q_proj.weight"].Same(after["model.language_model.layers.0.self_attn.q_proj.weight"]));
    }

    [Theory]
    [InlineData(SftLossNormalization.PerMicroBatch)]
    [InlineData(SftLossNormalization.PerOptimizerStep)]
    public void Step_loss_is_averaged_per_micro_batch_or_per_token_as_configured(SftLossNormalization normalization)
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(2);
        Assert.NotEqual(examples[0].SupervisedTokens, examples[1].SupervisedTokens);
        var options = Options(dir.Path, epochs: 1);
        options.MicroBatchSize = 1;                 // one step of two micro-batches with different token counts
        options.GradientAccumulationSteps = 2;
        options.LossNormalization = normalization;
        Assert.Equal(SftLossNormalization.PerMicroBatch, new SftOptions().LossNormalization);   // LLaMA-Factory's multimodal default

        var model = SftTestKit.NewModel(7, vocabulary.Config);
        var sums = new double[2];
        using (torch.no_grad())
            for (int i = 0; i < 2; i++)
            {
                using var batch = SftBatch.Collate([examples[i]], new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), vocabulary.PadTokenId);
                var logits = model.forward(inputIds: batch.InputIds, pixelValues: batch.PixelValues,
                    imageGridThw: batch.ImageGridThw).Logits;
                sums[i] = FineR1.Core.Modeling.LanguageModelLoss.Compute(logits, batch.Labels, numItemsInBatch: 1).ToDouble();   // Σ token CE
            }
        double n0 = examples[0].SupervisedTokens, n1 = examples[1].SupervisedTokens;
        double expected = normalization == SftLossNormalization.PerMicroBatch
            ? (sums[0] / n0 + sums[1] / n1) / 2                 // mean of the micro-batch means
            : (sums[0] + sums[1]) / (n0 + n1);                  // mean over every token of the step
        var step = Assert.Single(new SftTrainer(model, SftTestKit.Tokenizer, options) { PadTokenId = vocabulary.PadTokenId }.Train(examples).Steps);
        Assert.Equal(expected, step.Loss, 1e-4 * expected);
    }

    [Fact]
    public void Real_vocabulary_model_trains_one_step()
    {
        using var dir = new TempDir();
        var options = Options(dir.Path, epochs: 1);
        options.MaxLength = 128;
        options.WarmupSteps = 0;
        var trainer = new SftTrainer(SftTestKit.NewModel(), SftTestKit.Tokenizer, options);
        var result = trainer.Train(trainer.Prepare(data.Records.Take(4).ToList()));
        var step = Assert.Single(result.Steps);
        Assert.True(step.Stepped && double.IsFinite(step.Loss) && step.Loss > 0);
        Assert.Equal(151936, FineR1.Core.Configuration.Qwen2_5_VLConfig.Load(Path.Combine(result.LastCheckpoint!, "config.json")).Text.VocabSize);
    }

    [Fact]
    [Trait("Category", "Resume")]
    public void Resumed_run_reproduces_the_uninterrupted_losses_exactly()
    {
        const int stopAfter = 3;
        var (examples, vocabulary) = Examples(10);               // 10 examples: steps of 4, 4, 2 per epoch (uneven last step)
        using var straightDir = new TempDir();
        var straight = Trainer(vocabulary, Options(straightDir.Path, epochs: 3)).Train(examples);
        Assert.Equal(9, straight.TotalSteps);

        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        var first = Trainer(vocabulary, Options(dir.Path, epochs: 3))
            .Train(examples, new Collect(p => { if (p.Step == stopAfter) cts.Cancel(); }), cts.Token);
        Assert.False(first.Completed);
        Assert.Equal(stopAfter, first.GlobalStep);
        Assert.EndsWith($"checkpoint-{stopAfter}", first.LastCheckpoint);

        // A fresh process would build a differently initialised model: the checkpoint must overwrite all of it.
        var resumed = Trainer(vocabulary, Options(dir.Path, epochs: 3), seed: 1234).Train(examples);
        Assert.True(resumed.Completed);
        Assert.Equal(first.LastCheckpoint, resumed.ResumedFrom);
        Assert.Equal(straight.Steps.Skip(stopAfter).Select(s => s.Step), resumed.Steps.Select(s => s.Step));
        Assert.Equal(straight.Steps.Skip(stopAfter).Select(s => s.Loss), resumed.Steps.Select(s => s.Loss));           // exact
        Assert.Equal(straight.Steps.Skip(stopAfter).Select(s => s.GradNorm), resumed.Steps.Select(s => s.GradNorm));   // exact
        Assert.Equal(straight.Steps.Select(s => s.Loss), first.Steps.Select(s => s.Loss).Concat(resumed.Steps.Select(s => s.Loss)));

        // Same metrics file as the uninterrupted run (losses), and only the newest 2 checkpoints kept.
        static string[] Losses(string folder) => File.ReadAllLines(Path.Combine(folder, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("loss").GetRawText()).ToArray();
        Assert.Equal(Losses(straightDir.Path), Losses(dir.Path));
        Assert.Equal(["checkpoint-3", "checkpoint-9"], TrainingCheckpoints.List(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Start_steps_checkpoints_and_resumption_are_logged_with_their_event_ids()
    {
        var (examples, vocabulary) = Examples(4);                // 4 examples: one step of 4 per epoch
        using var dir = new TempDir();
        var logger = new ListLogger();
        using var cts = new CancellationTokenSource();
        var first = new SftTrainer(SftTestKit.NewModel(7, vocabulary.Config), SftTestKit.Tokenizer, Options(dir.Path, epochs: 2), logger)
            { PadTokenId = vocabulary.PadTokenId }
            .Train(examples, new Collect(p => { if (p.Step == 1) cts.Cancel(); }), cts.Token);
        Assert.Equal(1, first.GlobalStep);
        var resumeLogger = new ListLogger();
        new SftTrainer(SftTestKit.NewModel(7, vocabulary.Config), SftTestKit.Tokenizer, Options(dir.Path, epochs: 2), resumeLogger)
            { PadTokenId = vocabulary.PadTokenId }.Train(examples);

        int[] Ids(ListLogger l) => l.Entries.Select(e => e.EventId.Id).ToArray();
        Assert.Equal([FineR1LogEvents.TrainingStarted.Id, FineR1LogEvents.TrainingStep.Id, FineR1LogEvents.TrainingCheckpointSaved.Id],
            Ids(logger).Where(id => id >= 2000));
        Assert.Equal([FineR1LogEvents.TrainingCheckpointLoaded.Id, FineR1LogEvents.TrainingStarted.Id],
            Ids(resumeLogger).Where(id => id >= 2000).Take(2));
        Assert.Contains(FineR1LogEvents.TrainingStep.Id, Ids(resumeLogger));
        Assert.Contains(logger.Entries, e => e.EventId == FineR1LogEvents.TrainingStep && e.State.Any(kv => kv.Key == "Loss"));
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_of_another_run()
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(4);
        Trainer(vocabulary, Options(dir.Path, epochs: 1)).Train(examples);
        var e = Assert.Throws<TrainingCheckpointException>(() => Trainer(vocabulary, Options(dir.Path, epochs: 2)).Train(examples));
        Assert.Contains("steps", e.Message);
    }

    [Fact]
    public void Without_an_output_folder_nothing_is_written()
    {
        var (examples, vocabulary) = Examples(4);
        var options = Options("unused", epochs: 1);
        options.Checkpointing.OutputDir = null;                 // the final save (at the last step) is skipped too
        var result = Trainer(vocabulary, options).Train(examples);
        Assert.True(result.Completed);
        Assert.Null(result.LastCheckpoint);
        Assert.All(result.Steps, s => Assert.Null(s.Checkpoint));
    }

    [Fact]
    public void A_long_loop_does_not_leak_tensors_or_memory()
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(4);                // 1 step per epoch → 40 steps
        var live = new List<long>();
        var rss = new List<long>();
        var options = Options(dir.Path, epochs: 40);
        options.Checkpointing.MetricsFileName = "";
        Trainer(vocabulary, options).Train(examples, new Collect(p =>
        {
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            rss.Add(p.Memory.ResidentBytes);
        }));
        Assert.Equal(40, live.Count);
        // From step 2 on (optimizer state allocated) the number of live tensors is constant.
        Assert.All(live.Skip(2), n => Assert.Equal(live[2], n));
        // Resident memory: allocator caches settle within a few steps; less than 64 MiB over the last 30 steps.
        long growth = rss[^1] - rss[9];
        Assert.True(growth < 64L << 20, $"RSS grew by {growth / (1 << 20)} MiB from step 10 to step 40");
    }

    [Fact]
    public void Lora_trains_only_the_adapters()
    {
        using var dir = new TempDir();
        var (examples, vocabulary) = Examples(4);
        var options = Options(dir.Path, epochs: 2);
        options.Lora.Enabled = true;
        options.WarmupSteps = 0;
        var model = SftTestKit.NewModel(7, vocabulary.Config);
        var before = SftTestKit.Snapshot(model);
        new SftTrainer(model, SftTestKit.Tokenizer, options) { PadTokenId = vocabulary.PadTokenId }.Train(examples);
        var after = model.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
        Assert.Contains(after.Keys, k => k.Contains("lora_B"));
        Assert.All(after.Where(kv => kv.Key.Contains("lora_B")), kv => Assert.NotEqual(0f, kv.Value.abs().sum().item<float>()));
        Assert.True(before["model.language_model.embed_tokens.weight"].Same(after["model.language_model.embed_tokens.weight"]));
        Assert.True(before["model.language_model.layers.0.self_attn.q_proj.weight"].Same(after["model.language_model.layers.0.self_attn.q_proj.base_layer.weight"]));
    }
}
