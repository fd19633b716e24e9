using System.Text.Json;
using FineR1.Core.Text.Tokenization;
using FineR1.Tests;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using Xunit;

namespace FineR1.Experiments.Tests.Quickstart;

/// <summary>
/// Runs alone: the pipeline seeds torch's global generator, so tests of other classes running in parallel (TAPO, SFT)
/// would interleave draws from it and break the same-seed determinism check.
/// </summary>
[CollectionDefinition(nameof(QuickstartCollection), DisableParallelization = true)]
public sealed class QuickstartCollection;

/// <summary>The quickstart pipeline through the library API: completes, writes well-formed numbers, is deterministic.</summary>
[Collection(nameof(QuickstartCollection))]
public sealed class QuickstartExperimentTests
{
    private static QwenTokenizer Tokenizer() =>
        QwenTokenizer.Load(TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz"), QwenTokenizerOptions.Qwen2_5_VL);

    // The --quick preset with the shortest training and generation, so two runs fit CI's budget on 2 cores.
    private static ExperimentOptions Options(string folder) => ExperimentOptions.Quick(folder, seed: 3) with
    {
        World = ExperimentOptions.Quick(folder, seed: 3).World with { PretrainImagesPerSpecies = 6 },
        Pretraining = new PretrainingOptions { FactRepeats = 1, VariedContexts = true, Training = new LmTrainingOptions { Epochs = 1, BatchSize = 16, LearningRate = 3e-3 } },
        DirectSft = new LmTrainingOptions { Epochs = 1, BatchSize = 8 },
        CotSft = new LmTrainingOptions { Epochs = 1, BatchSize = 8, MaxLength = 256 },
        Tapo = new TapoStageOptions { Steps = 2, N = 2, PromptsPerDraw = 2, GroupsPerStep = 1, MaxResponseLength = 8 },
        EvalMaxNewTokens = 12,
        EvalBatchSize = 40,
    };

    [Fact]
    public async Task Quick_pipeline_completes_with_well_formed_numbers_and_is_deterministic_for_a_seed()
    {
        using var dir = TestPaths.NewTempDir();
        var tokenizer = Tokenizer();
        int threadsBefore = TorchSharp.torch.get_num_threads();
        var phases = new HashSet<string>();
        var progress = new SyncProgress<ExperimentProgress>(p => phases.Add(p.Phase));
        var first = await ExperimentRunner.RunAsync(Options(Path.Combine(dir.Path, "a")), tokenizer, progress: progress,
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(first.BaseFromCache);
        Assert.Equal(["Zero-shot base", "Direct SFT", "CoT SFT", "CoT SFT + TAPO"], first.Stages.Select(s => s.Name));
        Assert.Contains("pretraining", phases);
        Assert.NotEmpty(first.PretrainingCurve);
        Assert.All(first.PretrainingCurve, p => Assert.True(double.IsFinite(p.Value) && p.Value > 0));
        Assert.True(first.PretrainingCurve[^1].Value < first.PretrainingCurve[0].Value, "pretraining loss did not go down");
        foreach (var s in first.Stages.Where(s => s.Available))
        {
            foreach (var scores in new[] { s.ClosedWorld, s.OpenWorld })
            {
                Assert.NotNull(scores);
                foreach (var v in new[] { scores!.Seen, scores.Unseen, scores.Average }.Concat(scores.PerFile.Values))
                    Assert.InRange(v, 0, 100);
                Assert.Equal((scores.Seen + scores.Unseen) / 2, scores.Average, 3);
                Assert.Equal(4, scores.PerFile.Count);   // bird and butterfly, seen and unseen
            }
            Assert.Contains($"eval {s.Name} (closed world)", phases);
        }
        Assert.All(first.Stages.Where(s => s.Name.Contains("SFT") && s.Available), s => Assert.NotEmpty(s.Curve));
        var tapo = first.Stages[3];
        Assert.True(tapo.Available, tapo.Note);
        Assert.Contains("TapoTrainer", tapo.Note);
        Assert.Equal([1, 2], tapo.Curve.Where(p => p.Metric == "reward").Select(p => p.Step));
        Assert.All(tapo.Curve, p => Assert.InRange(p.Value, 0, 1));
        Assert.Contains("train CoT SFT + TAPO", phases);
        Assert.All(first.Stages.Where(s => !s.Available), s => Assert.False(string.IsNullOrWhiteSpace(s.Note)));
        foreach (var f in new[] { first.Files.Markdown, first.Files.MetricsJson, first.Files.TimingsJson, first.Files.Plot })
            Assert.True(new FileInfo(f).Length > 0, f);
        var md = File.ReadAllText(first.Files.Markdown);
        Assert.Contains("| Stage | Closed seen | Closed unseen |", md);
        using (var doc = JsonDocument.Parse(File.ReadAllText(first.Files.MetricsJson)))
            Assert.Equal(4, doc.RootElement.GetProperty("stages").GetArrayLength());
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(first.Files.Plot)[..4]);

        // Same seed, fresh folders (no cache): the same metrics JSON.
        var second = await ExperimentRunner.RunAsync(Options(Path.Combine(dir.Path, "b")), tokenizer,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(second.BaseFromCache);
        Assert.Equal(File.ReadAllText(first.Files.MetricsJson), File.ReadAllText(second.Files.MetricsJson));

        // A third run on the first folder loads the cached base model.
        var third = await ExperimentRunner.RunAsync(Options(Path.Combine(dir.Path, "a")) with { OpenWorld = false }, tokenizer,
            [new ZeroShotStage()], cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(third.BaseFromCache);
        Assert.Equal(threadsBefore, TorchSharp.torch.get_num_threads());   // ExperimentOptions.Threads holds for the run only
        Assert.Equal(first.PretrainingCurve.Select(p => Math.Round(p.Value, 5)), third.PretrainingCurve.Select(p => Math.Round(p.Value, 5)));
        Assert.Equal(first.Stages[0].ClosedWorld, third.Stages[0].ClosedWorld, new ScoresComparer());
    }

    /// <summary>The README's <c>--quick</c> run itself (the preset unchanged): it completes and its numbers are well-formed.</summary>
    [Fact]
    public async Task The_quick_preset_runs_end_to_end()
    {
        using var dir = TestPaths.NewTempDir();
        var result = await ExperimentRunner.RunAsync(ExperimentOptions.Quick(dir.Path), Tokenizer(),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(4, result.Stages.Count(s => s.Available));
        Assert.NotNull(result.BaseCaptions);
        Assert.InRange(result.BaseCaptions!.AttributeAccuracy, 0, 100);
        foreach (var s in result.Stages)
            foreach (var v in new[] { s.ClosedWorld!.Seen, s.ClosedWorld.Unseen, s.OpenWorld!.Seen, s.OpenWorld.Unseen, s.AnswerFormatRate ?? 0 })
                Assert.InRange(v, 0, 100);
        Assert.Contains("| CoT SFT + TAPO |", File.ReadAllText(result.Files.Markdown));
        Assert.True(File.Exists(Path.Combine(dir.Path, "eval", "base-captions.jsonl")));
    }

    /// <summary>The runner on CUDA (<c>--device cuda</c>): the tiny settings complete with well-formed numbers.</summary>
    [Fact]
    [Trait("Category", "Gpu")]
    public async Task Gpu_pipeline_runs_on_cuda()
    {
        Gpu.RequireCuda();
        using var dir = TestPaths.NewTempDir();
        var result = await ExperimentRunner.RunAsync(Options(dir.Path) with { Device = "cuda" }, Tokenizer(),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(4, result.Stages.Count(s => s.Available));
        foreach (var s in result.Stages)
            foreach (var v in new[] { s.ClosedWorld!.Seen, s.ClosedWorld.Unseen, s.OpenWorld!.Seen, s.OpenWorld.Unseen })
                Assert.InRange(v, 0, 100);
    }

    private sealed class ScoresComparer : IEqualityComparer<SplitScores?>
    {
        public bool Equals(SplitScores? a, SplitScores? b) => a is not null && b is not null && a.Seen == b.Seen && a.Unseen == b.Unseen
            && a.PerFile.OrderBy(k => k.Key).SequenceEqual(b.PerFile.OrderBy(k => k.Key));
        public int GetHashCode(SplitScores? s) => 0;
    }

    [Fact]
    public void Invalid_training_settings_name_the_setting()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LmTrainingOptions { Epochs = 0 }.Validate());
        Assert.Equal("Epochs", e.ParamName);
        var t = Assert.Throws<ArgumentOutOfRangeException>(() => TapoStage.Recipe(new TapoStageOptions { Steps = 1 }, seed: 1));
        Assert.Equal("Steps", t.ParamName);
        var temperature = Assert.Throws<ArgumentOutOfRangeException>(() => new TapoStageOptions { Temperature = 0 }.Validate());
        Assert.Equal("Temperature", temperature.ParamName);
    }
}
