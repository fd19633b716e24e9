using System.Diagnostics;
using FineR1.Core.Hosting;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Processing;
using FineR1.Core.Text.Tokenization;
using FineR1.Inference.Evaluation;
using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Experiments;

/// <summary>Progress of a long phase (for console bars).</summary>
/// <param name="Phase">Phase name, e.g. "pretraining" or "eval CoT SFT closed".</param>
/// <param name="Done">Units done.</param>
/// <param name="Total">Units in the phase.</param>
/// <param name="Detail">Short status, e.g. "loss 2.31".</param>
public sealed record ExperimentProgress(string Phase, int Done, int Total, string Detail);

/// <summary>
/// The quickstart experiment on FGVR-Synth: generate the world, pretrain (or load) the base model on world knowledge,
/// then for each stage start from its parent's weights, train, and evaluate on the seen and unseen test images with the
/// evaluation harness, closed and open world; write results.md, metrics.json, timings.json and results.png.
/// </summary>
public static class ExperimentRunner
{
    /// <summary>The paper's stages: zero-shot base, direct SFT, CoT SFT, CoT SFT + TAPO.</summary>
    public static IReadOnlyList<IExperimentStage> DefaultStages(ExperimentOptions options) =>
        [new ZeroShotStage(), new SupervisedStage(false, options.DirectSft, Settings(options)), new SupervisedStage(true, options.CotSft, Settings(options)),
         new TapoStage(options.Tapo)];

    private static SupervisedStageSettings Settings(ExperimentOptions o) => new()
    {
        EvaluationPrompts = o.SftOnEvaluationTemplates, KnowledgeReplay = o.SftKnowledgeReplay, UnsupervisedAnalysis = o.CotSftUnsupervisedAnalysis,
        TrainVision = o.SftTrainVision, ReplayInVariedContexts = o.Pretraining.VariedContexts,
    };

    /// <summary>Runs the experiment.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="tokenizer">Qwen tokenizer (the sample embeds one).</param>
    /// <param name="stages">Stages (default <see cref="DefaultStages"/>).</param>
    /// <param name="progress">Progress of every long phase.</param>
    /// <param name="cancellationToken">Cancels.</param>
    public static async Task<ExperimentResult> RunAsync(ExperimentOptions options, QwenTokenizer tokenizer,
        IReadOnlyList<IExperimentStage>? stages = null, IProgress<ExperimentProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (options.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "ExperimentOptions.Threads must be at least 1.");
        var device = DeviceSelector.Resolve(options.Device);
        int threads = torch.get_num_threads();
        torch.set_num_threads(options.Threads);
        try { return await RunOnAsync(device, options, tokenizer, stages ?? DefaultStages(options), progress, cancellationToken); }
        finally { torch.set_num_threads(threads); }
    }

    /// <summary>
    /// Runs the experiment once per options (one per seed, each with its own <see cref="ExperimentOptions.OutputFolder"/>),
    /// and writes the summary — mean ± standard deviation per stage and metric, and every seed's rows — to
    /// <paramref name="outputFolder"/> (<see cref="ExperimentReport.Write(MultiSeedResult)"/>) after each seed.
    /// </summary>
    /// <param name="runs">Settings of each run; their seeds must differ.</param>
    /// <param name="outputFolder">Where the summary goes.</param>
    /// <param name="tokenizer">Qwen tokenizer.</param>
    /// <param name="progress">Progress of every long phase; phases are prefixed with "seed N: ".</param>
    /// <param name="cancellationToken">Cancels.</param>
    public static async Task<MultiSeedResult> RunSeedsAsync(IReadOnlyList<ExperimentOptions> runs, string outputFolder, QwenTokenizer tokenizer,
        IProgress<ExperimentProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (runs.Count == 0) throw new ArgumentException("No run.", nameof(runs));
        if (runs.Select(r => r.Seed).Distinct().Count() != runs.Count) throw new ArgumentException("Each run needs its own seed.", nameof(runs));
        var results = new List<ExperimentResult>();
        MultiSeedResult? summary = null;
        Directory.CreateDirectory(outputFolder);
        foreach (var options in runs)
        {
            var tagged = new SyncProgress<ExperimentProgress>(p => progress?.Report(p with { Phase = $"seed {options.Seed}: {p.Phase}" }));
            results.Add(await RunAsync(options, tokenizer, progress: tagged, cancellationToken: cancellationToken));
            // Rewritten after every seed, so a long run stopped early still leaves the summary of the seeds that finished.
            summary = MultiSeedResult.Aggregate(results, outputFolder);
            ExperimentReport.Write(summary);
        }
        return summary!;
    }

    private static async Task<ExperimentResult> RunOnAsync(Device device, ExperimentOptions options, QwenTokenizer tokenizer,
        IReadOnlyList<IExperimentStage> stages, IProgress<ExperimentProgress>? progress, CancellationToken cancellationToken)
    {
        var timings = new Dictionary<string, double>();
        var total = Stopwatch.StartNew();
        var watch = Stopwatch.StartNew();
        Directory.CreateDirectory(options.OutputFolder);

        progress?.Report(new ExperimentProgress("world", 0, 1, "generating FGVR-Synth"));
        var world = FgvrSynth.Generate(options.World, Path.Combine(options.OutputFolder, "world"));
        progress?.Report(new ExperimentProgress("world", 1, 1, $"{world.Images.Count} images"));
        timings["world"] = Lap(watch);

        string cache = options.CacheFolder ?? Path.Combine(options.OutputFolder, "cache");
        var pre = options.Pretraining with { Seed = options.Pretraining.Seed + options.Seed };
        var processor = new Qwen2VLImageProcessor(pre.Images);
        var grid = processor.PlanResize(world.Options.ImageSize, world.Options.ImageSize).Grid;
        var worldTokenizer = WorldVocabulary.Build(world, tokenizer, grid.H, grid.W);
        var pretrained = WorldKnowledgePretraining.LoadOrTrain(world, worldTokenizer, pre, cache, device,
            new SyncProgress<LmTrainingStep>(s => progress?.Report(new ExperimentProgress("pretraining", s.Step, s.TotalSteps, $"loss {s.Loss:F3}"))),
            cancellationToken);
        timings[pretrained.FromCache ? "base (loaded from cache)" : "base pretraining"] = Lap(watch);
        using var model = pretrained.Model;

        var encoder = new LmExampleEncoder(worldTokenizer, grid.H, grid.W);
        var evaluationProcessor = new Qwen2_5_VLProcessor(worldTokenizer, processor);   // the pixels the predictor sees
        progress?.Report(new ExperimentProgress("base captions", 0, 1, "describing the test images"));
        var captions = await CaptionScoresAsync(model, encoder, evaluationProcessor, world, options, cancellationToken);
        progress?.Report(new ExperimentProgress("base captions", 1, 1, $"{captions.AttributeAccuracy:F1} % of attributes right"));
        timings["base captions"] = Lap(watch);
        var snapshots = new Dictionary<string, Dictionary<string, Tensor>>();
        var baseWeights = Snapshot(model);
        var results = new List<StageResult>();
        try
        {
            foreach (var stage in stages)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = stage.StartsFrom is null ? baseWeights
                    : snapshots.GetValueOrDefault(stage.StartsFrom);
                if (start is null)
                {
                    results.Add(new StageResult { Name = stage.Name, Available = false, Note = $"needs '{stage.StartsFrom}', which did not run" });
                    continue;
                }
                Restore(model, start);
                torch.manual_seed(options.Seed);
                StageTraining training;
                try
                {
                    training = stage.Train(new StageContext(model, world, encoder, processor, options.Seed,
                        new SyncProgress<CurvePoint>(p => progress?.Report(new ExperimentProgress($"train {stage.Name}", p.Step, p.TotalSteps, $"{p.Metric} {p.Value:F3}")))),
                        cancellationToken);
                }
                catch (StageNotAvailableException e)
                {
                    results.Add(new StageResult { Name = stage.Name, Available = false, Note = e.Message });
                    continue;
                }
                finally { model.eval(); }
                timings[$"train {stage.Name}"] = Lap(watch);
                snapshots[stage.Name] = Snapshot(model);

                var closed = await EvaluateAsync(model, encoder, evaluationProcessor, world, options, EvalProtocol.ClosedWorld, stage.Name, progress, cancellationToken);
                var open = options.OpenWorld
                    ? await EvaluateAsync(model, encoder, evaluationProcessor, world, options, EvalProtocol.OpenWorld, stage.Name, progress, cancellationToken)
                    : default;
                timings[$"eval {stage.Name}"] = Lap(watch);
                results.Add(new StageResult
                {
                    Name = stage.Name, Note = training.Trainer, Curve = training.Curve,
                    ClosedWorld = closed.Scores, OpenWorld = open.Scores, AnswerFormatRate = closed.FormatRate,
                });
            }
        }
        finally
        {
            foreach (var s in snapshots.Values.Append(baseWeights)) foreach (var t in s.Values) t.Dispose();
        }

        timings["total"] = total.Elapsed.TotalSeconds;
        long parameters = model.UniqueParameters().Sum(p => p.Parameter.numel());
        var c = model.Config;
        var result = new ExperimentResult
        {
            Seed = options.Seed,
            World = $"{world.Species.Count} species ({world.Seen.Count} seen, {world.Unseen.Count} unseen) in {world.SuperCategories.Count} super-categories, " +
                    $"{world.Options.Shots} shots per seen species, {world.Eval.Sum(e => e.Records.Count)} test images",
            BaseModel = $"tiny Qwen2.5-VL, {parameters / 1e6:F1} M parameters (hidden {c.Text.HiddenSize}, {c.Text.NumHiddenLayers} layers, vision depth {c.Vision.Depth}, closed vocabulary of {c.Text.VocabSize} Qwen tokens, tied embeddings), " +
                        $"pretrained on {world.Captions.Count} captions + {world.Facts.Count} facts",
            BaseCaptions = captions,
            PretrainingCurve = pretrained.Losses.Select(s => new CurvePoint(s.Step, s.TotalSteps, "loss", s.Loss)).ToList(),
            Stages = results, Timings = timings, BaseFromCache = pretrained.FromCache,
            Files = ExperimentFiles.In(options.OutputFolder),
        };
        ExperimentReport.Write(result);
        return result;
    }

    private static async Task<(SplitScores? Scores, double? FormatRate)> EvaluateAsync(IVisionLanguageModel model,
        LmExampleEncoder encoder, Qwen2_5_VLProcessor processor, FgvrSynthWorld world, ExperimentOptions options,
        EvalProtocol protocol, string stage, IProgress<ExperimentProgress>? progress, CancellationToken ct)
    {
        string tag = protocol == EvalProtocol.ClosedWorld ? "closed" : "open";
        string folder = Path.Combine(options.OutputFolder, "eval", Slug(stage));
        Directory.CreateDirectory(folder);
        string resultsPath = Path.Combine(folder, $"{tag}.jsonl");
        if (File.Exists(resultsPath)) File.Delete(resultsPath);      // a fresh model: never resume an older run's outputs
        var predictor = new GenerativePredictor(model, encoder, processor, options.EvalMaxNewTokens, options.EvalSystemPrompt);
        int totalRecords = world.Eval.Sum(e => e.Records.Count), before = 0;
        string current = "";
        var report = await new EvaluationRunner(predictor).RunAsync(new EvaluationOptions
        {
            Files = world.Files.EvalJsonl, ImageRoot = world.Root, Protocol = protocol, BatchSize = options.EvalBatchSize,
            ResultsPath = resultsPath,
        }, new SyncProgress<EvaluationProgress>(p =>
        {
            if (p.File != current) { if (current != "") before += world.Eval.First(e => Path.GetFileName(e.FilePath) == current).Records.Count; current = p.File; }
            progress?.Report(new ExperimentProgress($"eval {stage} ({tag} world)", before + p.Done, totalRecords, p.File));
        }), ct);
        await report.WriteAsync(Path.Combine(folder, $"{tag}-report.json"), Path.Combine(folder, $"{tag}-report.md"), stage);
        var perFile = report.Files.ToDictionary(f => f.File, f => Math.Round(f.Accuracy, 4));
        var datasets = report.Files.Where(f => f.Split is not null).GroupBy(f => f.Dataset)
            .Where(g => g.Any(f => f.Split == "seen") && g.Any(f => f.Split == "unseen"))
            .Select(g => new DatasetScore(g.Key, g.First(f => f.Split == "seen").Accuracy, g.First(f => f.Split == "unseen").Accuracy)).ToList();
        if (datasets.Count == 0) return (null, null);
        var avg = PaperAggregation.Aggregate(datasets);
        double? format = null;
        if (protocol == EvalProtocol.ClosedWorld)
        {
            var lines = File.ReadAllLines(resultsPath).Where(l => l.Length > 0).ToList();
            format = lines.Count == 0 ? 0 : Math.Round(100.0 * lines.Count(HasAnswer) / lines.Count, 4);
        }
        return (new SplitScores(Math.Round(avg.SeenAverage, 4), Math.Round(avg.UnseenAverage, 4), Math.Round(avg.Overall, 4), perFile), format);
    }

    private static async Task<CaptionScores> CaptionScoresAsync(IVisionLanguageModel model, LmExampleEncoder encoder,
        Qwen2_5_VLProcessor processor, FgvrSynthWorld world, ExperimentOptions options, CancellationToken ct)
    {
        model.Module.eval();
        var predictor = new GenerativePredictor(model, encoder, processor, maxNewTokens: 64, systemPrompt: null);
        var images = world.Eval.SelectMany(e => e.Records).Select(r => r.Image).ToList();
        int exactSeen = 0, exactUnseen = 0, phrases = 0, phrasesRight = 0;
        var lines = new List<string>();
        for (int start = 0; start < images.Count; start += options.EvalBatchSize)
        {
            var batch = images.Skip(start).Take(options.EvalBatchSize).ToList();
            var outputs = await predictor.PredictAsync(batch.Select(i => new PredictionRequest(i.Path, LmExampleEncoder.CaptionInstruction)).ToList(), ct);
            for (int k = 0; k < batch.Count; k++)
            {
                var species = batch[k].Species;
                string truth = Synthetic.Text.KnowledgeText.Caption(species);
                bool exact = KnowledgeContexts.WithoutLead(outputs[k].Trim()) == truth;   // a varied-context base may open with a lead-in
                if (exact && species.IsSeen) exactSeen++;
                if (exact && !species.IsSeen) exactUnseen++;
                phrases += species.Phrases.Count;
                phrasesRight += species.Phrases.Count(p => outputs[k].Contains(p, StringComparison.Ordinal));
                lines.Add(System.Text.Json.JsonSerializer.Serialize(new { image_path = batch[k].RelativePath, species = species.Name, seen = species.IsSeen, caption = outputs[k], truth }));
            }
        }
        Directory.CreateDirectory(Path.Combine(options.OutputFolder, "eval"));
        await File.WriteAllLinesAsync(Path.Combine(options.OutputFolder, "eval", "base-captions.jsonl"), lines, ct);
        int seen = images.Count(i => i.Species.IsSeen), unseen = images.Count - seen;
        return new CaptionScores(Percent(exactSeen, seen), Percent(exactUnseen, unseen), Percent(phrasesRight, phrases));
    }

    private static double Percent(int part, int whole) => whole == 0 ? 0 : Math.Round(100.0 * part / whole, 4);

    private static bool HasAnswer(string jsonLine)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(jsonLine);
        return doc.RootElement.TryGetProperty("answer", out var a) && a.ValueKind == System.Text.Json.JsonValueKind.String;
    }

    internal static string Slug(string name) => new string(name.ToLowerInvariant().Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray()).Replace("--", "-").Trim('-');

    private static double Lap(Stopwatch w) { double s = Math.Round(w.Elapsed.TotalSeconds, 1); w.Restart(); return s; }

    private static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    private static void Restore(nn.Module model, Dictionary<string, Tensor> weights)
    {
        using var noGrad = no_grad();
        foreach (var (name, t) in model.state_dict()) t.copy_(weights[name]);
    }
}
