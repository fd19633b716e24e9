using System.Text.RegularExpressions;
using FineR1.Core.IO;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Rewards;

namespace FineR1.Inference.Evaluation;

/// <summary>Progress of a run, reported after every batch.</summary>
/// <param name="File">Eval file being processed.</param>
/// <param name="Done">Records of that file handled so far (predicted, resumed or failed).</param>
/// <param name="Total">Records in that file.</param>
/// <param name="Failed">Failures in that file so far.</param>
/// <param name="Resumed">Records of that file taken from an earlier run.</param>
public sealed record EvaluationProgress(string File, int Done, int Total, int Failed, int Resumed);

/// <summary>
/// Runs the paper's evaluation (docs/method.md §6) over eval JSONL files with an <see cref="IFineGrainedPredictor"/>: builds
/// the prompts, batches the model calls, scores every record, appends per-record results to a JSONL file (resume) and
/// returns per-file scores plus the paper-style averages. Bad lines, missing images and predictor errors are recorded
/// with file and line number and the run continues; they count as wrong.
/// </summary>
public sealed partial class EvaluationRunner
{
    private readonly IFineGrainedPredictor _predictor;
    private readonly SemanticSimilarityScorer? _similarity;

    /// <summary>
    /// Creates a runner. <paramref name="embedder"/> (the SigLIP text tower, see
    /// <c>FineR1.Inference.Siglip.SiglipTextEmbedder</c>) enables the open-world semantic similarity.
    /// </summary>
    public EvaluationRunner(IFineGrainedPredictor predictor, ITextEmbedder? embedder = null)
    {
        _predictor = predictor;
        _similarity = embedder is null ? null : new SemanticSimilarityScorer(embedder);
    }

    /// <summary>Evaluates every file of <paramref name="options"/>.</summary>
    /// <exception cref="EvalDataException">An eval file does not exist, is not a regular file or is too large.</exception>
    public async Task<EvaluationReport> RunAsync(EvaluationOptions options, IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchSize must be at least 1.");
        foreach (var f in options.Files) EvalFileReader.Check(f);
        using var journal = new ResultsJournal(options.ResultsPath);
        var failures = new List<EvalFailure>();
        var scores = new List<FileScore>();
        foreach (var file in options.Files)
            scores.Add(await RunFileAsync(file, options, journal, failures, progress, cancellationToken));
        return new EvaluationReport
        {
            Protocol = options.Protocol, Files = scores, Rows = Rows(options.Protocol, scores),
            Failures = failures, Warnings = journal.Warnings,
        };
    }

    private async Task<FileScore> RunFileAsync(string file, EvaluationOptions options, ResultsJournal journal,
        List<EvalFailure> failures, IProgress<EvaluationProgress>? progress, CancellationToken ct)
    {
        bool closed = options.Protocol == EvalProtocol.ClosedWorld;
        string fileName = Path.GetFileName(file);
        var (dataset, split) = ParseFileName(fileName);
        bool car = options.CarDatasets.Contains(dataset);
        var lines = EvalFileReader.Read(file, requireOptions: closed).ToList();
        int done = 0, failed = 0, resumed = 0, predicted = 0;
        double correct = 0, similarity = 0;

        void Fail(EvalFailure f) { failures.Add(f); failed++; done++; }
        (bool Correct, double? Similarity) Score(EvalRecord r, string output)
        {
            bool ok = closed ? EvaluationScoring.IsClosedWorldCorrect(output, r.GroundTruth) : EvaluationScoring.IsOpenWorldTextIncluded(output, r.GroundTruth, carRule: car);
            double? ss = !closed && _similarity is not null
                ? _similarity.Score(EvaluationScoring.OpenWorldPrediction(output), r.GroundTruth, Anchor(r, options)) : null;
            if (ok) correct++;
            similarity += ss ?? 0;
            done++;
            return (ok, ss);
        }
        void Report() => progress?.Report(new EvaluationProgress(fileName, done, lines.Count, failed, resumed));

        var pending = new List<(EvalRecord Record, string Image)>();
        async Task Flush()
        {
            if (pending.Count == 0) return;
            var requests = pending.Select(p => new PredictionRequest(p.Image,
                closed ? FineR1Prompts.ClosedWorld(p.Record.Question, p.Record.Options) : FineR1Prompts.OpenWorld(p.Record.Question))).ToList();
            IReadOnlyList<string>? outputs = null;
            string? error = null;
            try
            {
                outputs = await _predictor.PredictAsync(requests, ct);
                if (outputs.Count != requests.Count) { error = $"the predictor returned {outputs.Count} outputs for {requests.Count} requests"; outputs = null; }
            }
            catch (Exception e) when (e is not OperationCanceledException) { error = $"prediction failed: {e.GetType().Name}: {e.Message}"; }

            var results = new List<RecordResult>();
            // One embedding batch for the new predictions, ground truths and anchors of this batch.
            if (!closed && outputs is not null)
                _similarity?.Prefetch(outputs.Select(EvaluationScoring.OpenWorldPrediction)
                    .Concat(pending.SelectMany(p => new[] { p.Record.GroundTruth, Anchor(p.Record, options) })));
            for (int i = 0; i < pending.Count; i++)
            {
                var r = pending[i].Record;
                if (outputs is null)
                {
                    Fail(new EvalFailure(r.SourceFile, r.LineNumber, error!));
                    results.Add(Result(fileName, r) with { Error = error });
                    continue;
                }
                string output = outputs[i];
                var (ok, ss) = Score(r, output);
                predicted++;
                results.Add(Result(fileName, r) with { Output = output, Answer = AnswerParsing.ExtractEvaluationAnswer(output), Correct = ok, SemanticSimilarity = ss });
            }
            journal.Append(results);
            pending.Clear();
            Report();
        }

        // Embed the texts of resumed records in large batches up front rather than one record at a time.
        if (!closed && _similarity is not null)
            _similarity.Prefetch(lines.Where(l => l.Record is not null).SelectMany(l =>
                journal.Done(fileName, l.Record!.LineNumber) is { } s
                    ? new[] { EvaluationScoring.OpenWorldPrediction(s.Output!), l.Record.GroundTruth, Anchor(l.Record, options) }
                    : []));

        foreach (var line in lines)
        {
            ct.ThrowIfCancellationRequested();
            if (line.Failure is not null) { Fail(line.Failure); continue; }
            var r = line.Record!;
            if (journal.Done(fileName, r.LineNumber) is { } stored)
            {
                Score(r, stored.Output!);   // metrics are recomputed from the stored output, never trusted from the file
                resumed++;
                continue;
            }
            if (ImageProblem(r, options, out var image) is { } problem) { Fail(new EvalFailure(r.SourceFile, r.LineNumber, problem)); continue; }
            pending.Add((r, image));
            if (pending.Count == options.BatchSize) await Flush();
        }
        await Flush();
        Report();

        int n = lines.Count;
        return new FileScore
        {
            File = fileName, Dataset = dataset, Split = split, Records = n, Predicted = predicted, Resumed = resumed, Failed = failed,
            Accuracy = n == 0 ? 0 : correct / n * 100,
            SemanticSimilarity = closed || _similarity is null ? null : n == 0 ? 0 : similarity / n * 100,
        };
    }

    /// <summary>
    /// Checks every input without running the model: each eval file is readable, and each record parses and names an
    /// image that exists inside the image root. Whole-file problems throw; record problems are returned (the run
    /// records them as failures and goes on), so a command-line tool can refuse bad input before loading a model.
    /// </summary>
    /// <exception cref="EvalDataException">An eval file is missing, not a regular file or too large, or the image root does not exist.</exception>
    public static IReadOnlyList<EvalFailure> CheckInputs(EvaluationOptions options, out int records)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(options.ImageRoot)) throw new EvalDataException("image root folder not found.", options.ImageRoot);
        var failures = new List<EvalFailure>();
        records = 0;
        foreach (var file in options.Files)
        {
            foreach (var line in EvalFileReader.Read(file, requireOptions: options.Protocol == EvalProtocol.ClosedWorld))
            {
                records++;
                if (line.Failure is not null) failures.Add(line.Failure);
                else if (ImageProblem(line.Record!, options, out _) is { } problem) failures.Add(new EvalFailure(file, line.Record!.LineNumber, problem));
            }
        }
        return failures;
    }

    /// <summary>Null when the record's image is a file inside the image root (or outside, when allowed); else the problem.</summary>
    private static string? ImageProblem(EvalRecord r, EvaluationOptions options, out string image)
    {
        var inside = InputFile.ResolveInside(options.ImageRoot, r.ImagePath);
        image = inside ?? Path.Combine(options.ImageRoot, r.ImagePath);
        if (inside is null && (!options.AllowImagesOutsideRoot || r.ImagePath.Contains('\0')))
            return $"image path '{r.ImagePath}' leaves the image root {options.ImageRoot} (EvaluationOptions.AllowImagesOutsideRoot accepts it)";
        if (Directory.Exists(image)) return $"image path is a folder: {image}";
        return File.Exists(image) ? null : $"image not found: {image}";
    }

    private static RecordResult Result(string fileName, EvalRecord r) =>
        new() { File = fileName, Line = r.LineNumber, ImagePath = r.ImagePath, GroundTruth = r.GroundTruth };

    private static string Anchor(EvalRecord r, EvaluationOptions o) => EvaluationScoring.SuperCategoryFromPath(
        o.AnchorSource == AnchorPathSource.ResolvedPath ? Path.Combine(o.ImageRoot, r.ImagePath) : r.ImagePath);

    /// <summary><c>bird_seen.jsonl</c> → (<c>bird</c>, <c>seen</c>); a name without the suffix → (stem, null).</summary>
    public static (string Dataset, string? Split) ParseFileName(string fileName)
    {
        string stem = Path.GetFileNameWithoutExtension(fileName);
        var m = SplitSuffix().Match(stem);
        return m.Success ? (m.Groups[1].Value, m.Groups[2].Value.ToLowerInvariant()) : (stem, null);
    }

    private static List<PaperRow> Rows(EvalProtocol protocol, IReadOnlyList<FileScore> files)
    {
        var rows = new List<PaperRow>();
        var paired = files.Where(f => f.Split is not null).GroupBy(f => f.Dataset)
            .Select(g => (Dataset: g.Key, Seen: g.LastOrDefault(f => f.Split == "seen"), Unseen: g.LastOrDefault(f => f.Split == "unseen")))
            .Where(x => x.Seen is not null && x.Unseen is not null)
            .OrderBy(x => ColumnOrder(x.Dataset)).ThenBy(x => x.Dataset, StringComparer.Ordinal)
            .ToList();
        if (paired.Count == 0) return rows;
        void Add(string metric, Func<FileScore, double> pick)
        {
            var ds = paired.Select(p => new DatasetScore(p.Dataset, pick(p.Seen!), pick(p.Unseen!))).ToList();
            rows.Add(new PaperRow(metric, ds, PaperAggregation.Aggregate(ds)));
        }
        Add(protocol == EvalProtocol.ClosedWorld ? "Closed-world accuracy" : "Open-world text inclusion", f => f.Accuracy);
        if (protocol == EvalProtocol.OpenWorld && paired.All(p => p.Seen!.SemanticSimilarity is not null && p.Unseen!.SemanticSimilarity is not null))
            Add("Open-world relative semantic similarity", f => f.SemanticSimilarity!.Value);
        return rows;
    }

    private static int ColumnOrder(string dataset)
    {
        for (int i = 0; i < PaperAggregation.DatasetOrder.Count; i++)
            if (PaperAggregation.DatasetOrder[i] == dataset) return i;
        return int.MaxValue;
    }

    [GeneratedRegex("^(.+)_(seen|unseen)$", RegexOptions.IgnoreCase)]
    private static partial Regex SplitSuffix();
}
