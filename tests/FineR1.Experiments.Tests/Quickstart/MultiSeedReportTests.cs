using System.Text.Json;
using FineR1.Tests;
using FineR1.Experiments;
using Xunit;

namespace FineR1.Experiments.Tests.Quickstart;

/// <summary>The multi-seed summary (mean ± spread per stage and metric) and the plot, on hand-made results: no training.</summary>
public sealed class MultiSeedReportTests
{
    private static SplitScores Scores(double seen, double unseen) => new(seen, unseen, (seen + unseen) / 2,
        new Dictionary<string, double> { ["bird_seen.jsonl"] = seen, ["bird_unseen.jsonl"] = unseen });

    private static ExperimentResult Run(int seed, double cotOpenUnseen, bool tapoAvailable = true, string folder = ".") => new()
    {
        Seed = seed, World = "10 species", BaseModel = "tiny",
        BaseCaptions = new CaptionScores(80, 70, 90 + seed),
        PretrainingCurve = [new CurvePoint(1, 3, "loss", 3.0), new CurvePoint(2, 3, "loss", 2.0 - seed * 0.1), new CurvePoint(3, 3, "loss", 1.0)],
        Stages =
        [
            new StageResult { Name = "Direct SFT", Curve = [new CurvePoint(1, 2, "loss", 1.5), new CurvePoint(2, 2, "loss", 0.5)],
                ClosedWorld = Scores(40, 0), OpenWorld = Scores(30, 0), AnswerFormatRate = 100 },
            new StageResult { Name = "CoT SFT", Curve = [new CurvePoint(1, 2, "loss", 1.0), new CurvePoint(2, 2, "loss", 0.4)],
                ClosedWorld = Scores(50, 20), OpenWorld = Scores(60, cotOpenUnseen), AnswerFormatRate = 90 },
            tapoAvailable
                ? new StageResult { Name = "CoT SFT + TAPO", ClosedWorld = Scores(55, 30), OpenWorld = Scores(60, cotOpenUnseen + 10), AnswerFormatRate = 95,
                    Curve = [new CurvePoint(1, 2, "reward", 0.2), new CurvePoint(1, 2, "generated_accuracy", 0.1), new CurvePoint(2, 2, "reward", 0.4 + seed * 0.05),
                             new CurvePoint(2, 2, "generated_accuracy", 0.3)] }
                : new StageResult { Name = "CoT SFT + TAPO", Available = false, Note = "no trainer" },
        ],
        Timings = new Dictionary<string, double> { ["total"] = 100 + seed },
        Files = ExperimentFiles.In(folder),
    };

    [Fact]
    public void Mean_and_sample_standard_deviation_per_stage_and_metric()
    {
        // CoT SFT open unseen over seeds 1–3: 0, 25, 50 → mean 25, sd sqrt((625 + 0 + 625) / 2) = 25.
        var summary = MultiSeedResult.Aggregate([Run(1, 0), Run(2, 25), Run(3, 50)], "out");

        Assert.Equal([1, 2, 3], summary.Seeds);
        Assert.Equal(["Direct SFT", "CoT SFT", "CoT SFT + TAPO"], summary.Stages.Select(s => s.Name));
        var cot = summary.Stages[1].Metrics["open_unseen"];
        Assert.Equal(25, cot.Mean, 6);
        Assert.Equal(25, cot.StandardDeviation, 6);
        Assert.Equal((0, 50), (cot.Min, cot.Max));
        Assert.Equal([0, 25, 50], cot.Values);
        var tapo = summary.Stages[2].Metrics["open_unseen"];
        Assert.Equal(35, tapo.Mean, 6);
        Assert.Equal(0, summary.Stages[0].Metrics["closed_seen"].StandardDeviation);   // 40 in every seed
        Assert.Equal(Path.Combine("out", "results.md"), summary.Files.Markdown);
    }

    [Fact]
    public void A_stage_missing_in_some_seeds_is_averaged_over_the_seeds_it_ran_in()
    {
        var summary = MultiSeedResult.Aggregate([Run(1, 10), Run(2, 20, tapoAvailable: false)], "out");
        var tapo = summary.Stages.Single(s => s.Name == "CoT SFT + TAPO");
        Assert.Equal(1, tapo.Runs);
        Assert.Equal(20, tapo.Metrics["open_unseen"].Mean, 6);
        Assert.Equal(0, tapo.Metrics["open_unseen"].StandardDeviation);
    }

    [Fact]
    public void Repeated_seeds_and_empty_input_are_refused()
    {
        Assert.Throws<ArgumentException>(() => MultiSeedResult.Aggregate([Run(1, 0), Run(1, 10)], "out"));
        Assert.Throws<ArgumentException>(() => MultiSeedResult.Aggregate([], "out"));
        Assert.Throws<ArgumentException>(() => SeedStatistic.Of([]));
    }

    [Fact]
    public void The_summary_files_hold_the_mean_the_per_seed_rows_and_a_plot()
    {
        using var dir = TestPaths.NewTempDir();
        var summary = MultiSeedResult.Aggregate([Run(1, 0), Run(2, 25), Run(3, 50)], dir.Path);
        ExperimentReport.Write(summary);

        var md = File.ReadAllText(summary.Files.Markdown);
        Assert.Contains("| CoT SFT | 50.0 ± 0.0 | 20.0 ± 0.0 | 35.0 ± 0.0 | 60.0 ± 0.0 | 25.0 ± 25.0 |", md);
        Assert.Contains("| 3 | CoT SFT + TAPO | 55.0 | 30.0 |", md);

        using var doc = JsonDocument.Parse(File.ReadAllText(summary.Files.MetricsJson));
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("seeds").GetArrayLength());
        var cot = root.GetProperty("stages")[1];
        Assert.Equal("CoT SFT", cot.GetProperty("name").GetString());
        Assert.Equal(25, cot.GetProperty("metrics").GetProperty("open_unseen").GetProperty("standard_deviation").GetDouble(), 6);
        var perSeed = root.GetProperty("per_seed");
        Assert.Equal(3, perSeed.GetArrayLength());
        Assert.Equal(50, perSeed[2].GetProperty("stages")[1].GetProperty("open_world").GetProperty("unseen").GetDouble());
        using (var timings = JsonDocument.Parse(File.ReadAllText(summary.Files.TimingsJson)))
            Assert.Equal(103, timings.RootElement.GetProperty("seed 3").GetProperty("total").GetDouble());

        AssertPng(summary.Files.Plot);
    }

    [Fact]
    public void The_plot_of_one_run_is_written_too()
    {
        using var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir.Path, "one.png");
        ReportPlot.Draw([Run(1, 10, tapoAvailable: false)], path);
        AssertPng(path);
    }

    // A PNG of the plot's size: the signature, then the IHDR chunk's big-endian width and height.
    private static void AssertPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"{path}: {bytes.Length} bytes, too small for a drawn chart");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
        Assert.Equal(ReportPlot.Width, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(ReportPlot.Height, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
    }
}
