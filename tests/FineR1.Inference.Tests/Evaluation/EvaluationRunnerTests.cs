using System.Text.Json;
using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

public class EvaluationRunnerTests : IDisposable
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private readonly string _images;

    private static readonly string[] Files = ["car_seen.jsonl", "car_unseen.jsonl", "bird_seen.jsonl", "bird_unseen.jsonl"];

    public EvaluationRunnerTests()
    {
        _images = _dir.File("images");
        // Every image the tiny files name, except stanford-cars/cars_test/99999.jpg (car_seen.jsonl line 3).
        foreach (var rel in new[]
                 {
                     "stanford-cars/cars_test/00002.jpg", "stanford-cars/cars_test/00308.jpg", "stanford-cars/cars_test/00001.jpg",
                     "stanford-cars/cars_test/00055.jpg", "bird_200/images/001.Black_footed_Albatross/a.jpg",
                     "bird_200/images/001.Black_footed_Albatross/b.jpg", "bird_200/images/004.Groove_billed_Ani/ani.jpg",
                 })
        {
            var path = Path.Combine(_images, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, []);
        }
    }

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, string?> ClosedOutputs() => new()
    {
        ["00002.jpg"] = "<think>red, two doors</think> <answer>Ferrari 458 Italia Convertible 2012</answer>",   // right
        ["00308.jpg"] = "<think>…</think> <answer>Ferrari FF Coupe 2012</answer>",                              // wrong
        ["00001.jpg"] = "<answer>suzuki aerio sedan 2007</answer>",                                              // right
        ["a.jpg"] = "<answer>Black_Footed Albatross</answer>",                                                  // right ('_' → ' ')
        ["b.jpg"] = "Black Footed Albatross",                                                                    // wrong: no tags
        ["ani.jpg"] = "<answer>Groove Billed Ani</answer>",                                                     // right
    };

    private EvaluationOptions Options(EvalProtocol protocol = EvalProtocol.ClosedWorld, string? results = null, int batch = 2) => new()
    {
        Files = Files.Select(f => TestPaths.Fixture("eval", "tiny", f)).ToList(),
        ImageRoot = _images, Protocol = protocol, ResultsPath = results, BatchSize = batch,
    };

    [Fact]
    public async Task Closed_world_scores_every_file_and_counts_failures_as_wrong()
    {
        var predictor = new FakePredictor(ClosedOutputs());
        var progress = new ListProgress<EvaluationProgress>();
        var report = await new EvaluationRunner(predictor).RunAsync(Options(), progress, TestContext.Current.CancellationToken);

        var byFile = report.Files.ToDictionary(f => f.File);
        Assert.Equal((3, 2, 1), (byFile["car_seen.jsonl"].Records, byFile["car_seen.jsonl"].Predicted, byFile["car_seen.jsonl"].Failed));
        Assert.Equal(100.0 / 3, byFile["car_seen.jsonl"].Accuracy, 9);      // 1 of 3 (missing image counts)
        Assert.Equal((3, 1, 2), (byFile["car_unseen.jsonl"].Records, byFile["car_unseen.jsonl"].Predicted, byFile["car_unseen.jsonl"].Failed));
        Assert.Equal(100.0 / 3, byFile["car_unseen.jsonl"].Accuracy, 9);
        Assert.Equal(50.0, byFile["bird_seen.jsonl"].Accuracy, 9);
        Assert.Equal(100.0, byFile["bird_unseen.jsonl"].Accuracy, 9);

        Assert.Equal(
            [$"{Fixture("car_seen.jsonl")}:3", $"{Fixture("car_unseen.jsonl")}:2", $"{Fixture("car_unseen.jsonl")}:4"],
            report.Failures.Select(f => $"{f.SourceFile}:{f.LineNumber}"));
        Assert.Contains("image not found", report.Failures[0].Message);

        // Paper row: bird then car (paper order); seen (50 + 33.33)/2, unseen (100 + 33.33)/2, overall their mean.
        var row = Assert.Single(report.Rows);
        Assert.Equal(["bird", "car"], row.Datasets.Select(d => d.Dataset));
        Assert.Equal(125.0 / 3, row.Averages.SeenAverage, 9);
        Assert.Equal(200.0 / 3, row.Averages.UnseenAverage, 9);
        Assert.Equal(325.0 / 6, row.Averages.Overall, 9);

        // Batches of 2 in file order; prompts carry the options as a Python list.
        Assert.Equal([2, 1, 2, 1], predictor.Calls.Select(c => c.Count));
        Assert.Contains("['Ferrari 458 Italia Convertible 2012', 'Ferrari FF Coupe 2012',", predictor.Calls[0][0].Prompt);
        Assert.Equal(Path.Combine(_images, "stanford-cars/cars_test/00002.jpg"), predictor.Calls[0][0].ImagePath);

        // Progress ends at Done == Total for every file.
        foreach (var f in Files)
        {
            var last = progress.Reports.Last(p => p.File == f);
            Assert.Equal(last.Total, last.Done);
        }
    }

    [Fact]
    public async Task Open_world_uses_text_inclusion_with_the_car_rule()
    {
        var predictor = new FakePredictor(new()
        {
            ["00002.jpg"] = "<answer>Ferrari 458 Italia Convertible 2012</answer>",
            ["00308.jpg"] = "<answer>A Chevrolet Corvette</answer>",          // car rule: "chevrolet corvette" suffices
            ["00001.jpg"] = "<answer>Suzuki Aerio</answer>",
            ["00055.jpg"] = "<answer>Suzuki SX4</answer>",                    // line 4 (empty options) is fine in open world
            ["a.jpg"] = "<answer>Black_Footed Albatross</answer>",            // '_' is not replaced in the prediction → wrong
            ["b.jpg"] = "It is a Black Footed Albatross.",                    // no tags: whole output → right
            ["ani.jpg"] = "<answer>groove billed ani</answer>",
        });
        var report = await new EvaluationRunner(predictor).RunAsync(Options(EvalProtocol.OpenWorld), null, TestContext.Current.CancellationToken);
        var acc = report.Files.ToDictionary(f => f.File, f => f.Accuracy);
        Assert.Equal(200.0 / 3, acc["car_seen.jsonl"], 9);
        Assert.Equal(100.0 / 3, acc["car_unseen.jsonl"], 9);
        Assert.Equal(50.0, acc["bird_seen.jsonl"], 9);
        Assert.Equal(100.0, acc["bird_unseen.jsonl"], 9);
        Assert.Equal(2, report.Failures.Count);                             // missing image, bad JSON
        Assert.DoesNotContain("options provided", predictor.Calls[0][0].Prompt);
        Assert.All(report.Files, f => Assert.Null(f.SemanticSimilarity));   // no embedder
    }

    [Theory]
    [InlineData(AnchorPathSource.RecordPath, "bird_200", 70.0)]          // anchor "object": SS = 0.8 and 0.6
    [InlineData(AnchorPathSource.ResolvedPath, "birds", 25.0)]           // anchor "bird":   SS = 0.5 and 0
    public async Task Open_world_semantic_similarity_uses_the_super_category_anchor(AnchorPathSource source, string rootName, double expected)
    {
        string root = _dir.File(rootName);
        Directory.CreateDirectory(root);
        foreach (var img in new[] { "a.jpg", "b.jpg" })
        {
            var p = Path.Combine(root, "bird_200/images/001.Black_footed_Albatross", img);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllBytes(p, []);
        }
        var predictor = new FakePredictor(new()
        {
            ["a.jpg"] = "<think>…</think><answer>Black_Footed Albatross</answer>",
            ["b.jpg"] = "It is a Black Footed Albatross.",
        });
        var embedder = new FakeEmbedder(new()
        {
            ["Black Footed Albatross"] = [1, 0, 0],                 // ground truth
            ["Black_Footed Albatross"] = [0.8f, 0.6f, 0],           // cos 0.8 (the extracted answer is embedded)
            ["It is a Black Footed Albatross."] = [0.6f, 0, 0.8f],  // cos 0.6 (whole output when no tags)
            ["object"] = [0, 1, 0],                                 // cos 0
            ["bird"] = [0.6f, 0.8f, 0],                             // cos 0.6
        });
        var options = Options(EvalProtocol.OpenWorld) with
        {
            Files = [TestPaths.Fixture("eval", "tiny", "bird_seen.jsonl")], ImageRoot = root, AnchorSource = source,
        };
        var report = await new EvaluationRunner(predictor, embedder).RunAsync(options, null, TestContext.Current.CancellationToken);
        Assert.Equal(expected, report.Files.Single().SemanticSimilarity!.Value, 4);
    }

    [Fact]
    public async Task A_predictor_error_fails_its_batch_only_and_is_retried_on_resume()
    {
        string results = _dir.File("out/results.jsonl");
        var outputs = ClosedOutputs();
        outputs["b.jpg"] = null;   // this call throws
        var report = await new EvaluationRunner(new FakePredictor(outputs)).RunAsync(Options(results: results, batch: 1), null, TestContext.Current.CancellationToken);
        var failure = report.Failures.Single(f => f.SourceFile.EndsWith("bird_seen.jsonl"));
        Assert.Equal(2, failure.LineNumber);
        Assert.Contains("GPU on fire", failure.Message);
        Assert.Equal(100.0, report.Files.Single(f => f.File == "bird_unseen.jsonl").Accuracy);   // the run went on

        var retry = new FakePredictor(ClosedOutputs());
        var second = await new EvaluationRunner(retry).RunAsync(Options(results: results, batch: 1), null, TestContext.Current.CancellationToken);
        Assert.Equal(["b.jpg"], retry.Calls.Select(c => Path.GetFileName(c.Single().ImagePath)));
        Assert.Equal(5, second.Files.Sum(f => f.Resumed));
    }

    [Fact]
    public async Task Resume_skips_done_records_and_ignores_a_cut_off_last_line()
    {
        string results = _dir.File("results.jsonl");
        var full = await new EvaluationRunner(new FakePredictor(ClosedOutputs())).RunAsync(Options(results: results), null, TestContext.Current.CancellationToken);
        var lines = File.ReadAllLines(results);
        Assert.Equal(6, lines.Length);
        var first = JsonSerializer.Deserialize<JsonElement>(lines[0]);
        Assert.Equal(("car_seen.jsonl", 1, true), (first.GetProperty("file").GetString(), first.GetProperty("line").GetInt32(), first.GetProperty("correct").GetBoolean()));

        // Simulate a crash: two complete lines and half of the third.
        File.WriteAllText(results, lines[0] + "\n" + lines[1] + "\n" + lines[2][..(lines[2].Length / 2)]);
        var predictor = new FakePredictor(ClosedOutputs());
        var resumed = await new EvaluationRunner(predictor).RunAsync(Options(results: results), null, TestContext.Current.CancellationToken);

        Assert.Equal(4, predictor.Calls.Sum(c => c.Count));
        Assert.Equal(2, resumed.Files.Sum(f => f.Resumed));
        Assert.Contains(resumed.Warnings, w => w.StartsWith(results + ":3: "));
        Assert.Equal(full.Files.Select(f => f.Accuracy), resumed.Files.Select(f => f.Accuracy));

        // A third run predicts nothing: the file now holds every record (the cut line did not swallow the next one).
        var idle = new FakePredictor(ClosedOutputs());
        var again = await new EvaluationRunner(idle).RunAsync(Options(results: results), null, TestContext.Current.CancellationToken);
        Assert.Empty(idle.Calls);
        Assert.Equal(full.Files.Select(f => f.Accuracy), again.Files.Select(f => f.Accuracy));
    }

    [Fact]
    public async Task Reports_are_written_as_json_and_a_paper_style_markdown_table()
    {
        var report = await new EvaluationRunner(new FakePredictor(ClosedOutputs())).RunAsync(Options(), null, TestContext.Current.CancellationToken);
        string json = _dir.File("report.json"), md = _dir.File("report.md");
        await report.WriteAsync(json, md, "Fine-R1-3B", TestContext.Current.CancellationToken);

        var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal("closed_world", root.GetProperty("protocol").GetString());
        Assert.Equal(4, root.GetProperty("files").GetArrayLength());
        Assert.Equal(3, root.GetProperty("failures").GetArrayLength());
        Assert.Equal(325.0 / 6, root.GetProperty("rows")[0].GetProperty("averages").GetProperty("overall").GetDouble(), 9);

        var text = File.ReadAllText(md);
        Assert.Contains("| Model | Bird seen | Car seen | Seen Avg. | Bird unseen | Car unseen | Unseen Avg. | Avg. |", text);
        Assert.Contains("| Fine-R1-3B | 50.00 | 33.33 | 41.67 | 100.00 | 33.33 | 66.67 | 54.17 |", text);
        Assert.Contains("| car_seen.jsonl | 3 | 2 | 0 | 1 | 33.33 |", text);
        Assert.Contains($"`{Fixture("car_unseen.jsonl")}:2`", text);
    }

    [Fact]
    public async Task A_missing_eval_file_stops_the_run_with_a_typed_error()
    {
        var options = Options() with { Files = [_dir.File("nope_seen.jsonl")] };
        var e = await Assert.ThrowsAsync<EvalDataException>(() => new EvaluationRunner(new FakePredictor(new())).RunAsync(options, null, TestContext.Current.CancellationToken));
        Assert.Contains("nope_seen.jsonl", e.Message);
    }

    private static string Fixture(string name) => TestPaths.Fixture("eval", "tiny", name);
}

public class EvaluationRunnerResumeEmbeddingTests : IDisposable
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Resumed_open_world_records_embed_each_text_once_and_score_the_same()
    {
        string root = _dir.File("images");
        foreach (var img in new[] { "a.jpg", "b.jpg" })
        {
            var p = Path.Combine(root, "bird_200/images/001.Black_footed_Albatross", img);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllBytes(p, []);
        }
        Dictionary<string, float[]> Vectors() => new()
        {
            ["Black Footed Albatross"] = [1, 0, 0], ["Black_Footed Albatross"] = [0.8f, 0.6f, 0],
            ["It is a Black Footed Albatross."] = [0.6f, 0, 0.8f], ["object"] = [0, 1, 0],
        };
        var options = new EvaluationOptions
        {
            Files = [TestPaths.Fixture("eval", "tiny", "bird_seen.jsonl")], ImageRoot = root,
            Protocol = EvalProtocol.OpenWorld, ResultsPath = _dir.File("r.jsonl"),
        };
        var outputs = new Dictionary<string, string?> { ["a.jpg"] = "<answer>Black_Footed Albatross</answer>", ["b.jpg"] = "It is a Black Footed Albatross." };
        var first = await new EvaluationRunner(new FakePredictor(outputs), new FakeEmbedder(Vectors())).RunAsync(options, null, TestContext.Current.CancellationToken);

        var embedder = new FakeEmbedder(Vectors());
        var resumed = await new EvaluationRunner(new FakePredictor(new()), embedder).RunAsync(options, null, TestContext.Current.CancellationToken);
        Assert.Equal(70.0, first.Files.Single().SemanticSimilarity!.Value, 4);
        Assert.Equal(first.Files.Single().SemanticSimilarity, resumed.Files.Single().SemanticSimilarity);
        Assert.Equal(4, embedder.Embedded.Count);   // 2 predictions + ground truth + anchor, each once
    }
}
