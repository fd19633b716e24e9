using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineR1.Experiments;

/// <summary>Writes an <see cref="ExperimentResult"/> as Markdown (paper-style table), JSON and a PNG plot.</summary>
public static class ExperimentReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Writes all four files named in <see cref="ExperimentResult.Files"/>.</summary>
    public static void Write(ExperimentResult result)
    {
        File.WriteAllText(result.Files.Markdown, ToMarkdown(result));
        File.WriteAllText(result.Files.MetricsJson, MetricsJson(result));
        File.WriteAllText(result.Files.TimingsJson, JsonSerializer.Serialize(result.Timings, Json));
        ReportPlot.Draw([result], result.Files.Plot);
    }

    /// <summary>Writes the summary of several seeds: the four files named in <see cref="MultiSeedResult.Files"/>.</summary>
    public static void Write(MultiSeedResult summary)
    {
        File.WriteAllText(summary.Files.Markdown, ToMarkdown(summary));
        File.WriteAllText(summary.Files.MetricsJson, MetricsJson(summary));
        File.WriteAllText(summary.Files.TimingsJson, JsonSerializer.Serialize(summary.Runs.ToDictionary(r => $"seed {r.Seed}", r => r.Timings), Json));
        ReportPlot.Draw(summary.Runs, summary.Files.Plot);
    }

    /// <summary>The deterministic part of a multi-seed summary as JSON: per stage and metric the mean, standard deviation,
    /// range and per-seed values, then every seed's table rows.</summary>
    public static string MetricsJson(MultiSeedResult summary) => JsonSerializer.Serialize(new
    {
        summary.Seeds,
        Stages = summary.Stages.Select(s => new { s.Name, s.Runs, s.Metrics }).ToList(),
        PerSeed = summary.Runs.Select(r => new
        {
            r.Seed, r.BaseCaptions,
            Stages = r.Stages.Select(s => new { s.Name, s.Available, s.ClosedWorld, s.OpenWorld, s.AnswerFormatRate }).ToList(),
        }).ToList(),
    }, Json);

    /// <summary>The deterministic part of the result (no timings, no paths) as JSON.</summary>
    public static string MetricsJson(ExperimentResult result) => JsonSerializer.Serialize(new
    {
        result.Seed, result.World, result.BaseModel,
        PretrainingCurve = result.PretrainingCurve.Select(p => Math.Round(p.Value, 5)).ToList(),
        Stages = result.Stages.Select(s => new
        {
            s.Name, s.Available, s.Note, s.ClosedWorld, s.OpenWorld, s.AnswerFormatRate,
            Curve = s.Curve.Select(p => new { p.Step, p.Metric, Value = Math.Round(p.Value, 5) }).ToList(),
        }).ToList(),
    }, Json);

    /// <summary>The results table (closed world accuracy and open-world text inclusion; seen / unseen / average).</summary>
    public static string ToMarkdown(ExperimentResult result)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Fine-R1 quickstart on FGVR-Synth").AppendLine();
        sb.AppendLine($"World: {result.World}. Seed {result.Seed}.").AppendLine();
        sb.AppendLine($"Base model: {result.BaseModel}{(result.BaseFromCache ? " (loaded from the cache)" : "")}.").AppendLine();
        if (result.BaseCaptions is { } c)
            sb.AppendLine(FormattableString.Invariant(
                $"Base model's perception (attribute captions of the test images): {c.AttributeAccuracy:0.0} % of attributes right; captions exactly right: {c.ExactSeen:0.0} % (seen species), {c.ExactUnseen:0.0} % (unseen species).")).AppendLine();
        sb.AppendLine(TableHeader(leading: null, trailing: "Trainer"));
        foreach (var s in result.Stages)
        {
            if (!s.Available) { sb.AppendLine($"| {s.Name} |{string.Concat(StageMetric.All.Select(_ => " n/a |"))} not available yet: {s.Note} |"); continue; }
            sb.AppendLine($"| {s.Name} |{string.Concat(StageMetric.All.Select(m => $" {F(m.Value(s))} |"))} {s.Note} |");
        }
        sb.AppendLine();
        sb.AppendLine(Legend);
        sb.AppendLine("| Phase | Seconds |").AppendLine("| --- | ---: |");
        foreach (var (k, v) in result.Timings) sb.AppendLine($"| {k} | {v.ToString("F1", CultureInfo.InvariantCulture)} |");
        return sb.ToString();
    }

    /// <summary>The summary table (mean ± standard deviation over the seeds), then every seed's rows.</summary>
    public static string ToMarkdown(MultiSeedResult summary)
    {
        var sb = new StringBuilder();
        var first = summary.Runs[0];
        sb.AppendLine($"# Fine-R1 quickstart on FGVR-Synth, {summary.Seeds.Count} seeds").AppendLine();
        sb.AppendLine($"World: {first.World}; seeds {string.Join(", ", summary.Seeds)} (each seed its own world, base model and runs; " +
                      "each seed's report in `seed-N/`).").AppendLine();
        sb.AppendLine($"Base model: {first.BaseModel}.").AppendLine();
        var captions = summary.Runs.Where(r => r.BaseCaptions is not null).Select(r => r.BaseCaptions!).ToList();
        if (captions.Count > 0)
            sb.AppendLine($"Base model's perception (% of attributes right in its captions of the test images): {MeanSd(SeedStatistic.Of(captions.Select(c => c.AttributeAccuracy).ToList()))}.").AppendLine();
        sb.AppendLine($"Mean ± standard deviation over {summary.Seeds.Count} seeds (%):").AppendLine();
        sb.AppendLine(TableHeader(leading: null, trailing: "Seeds"));
        foreach (var s in summary.Stages)
            sb.AppendLine($"| {s.Name} |{string.Concat(StageMetric.All.Select(m => $" {(s.Metrics.TryGetValue(m.Key, out var v) ? MeanSd(v) : "–")} |"))} {s.Runs} |");
        sb.AppendLine();
        sb.AppendLine(Legend);
        sb.AppendLine("Per seed:").AppendLine();
        sb.AppendLine(TableHeader(leading: "Seed", trailing: null));
        foreach (var r in summary.Runs)
            foreach (var s in r.Stages)
                sb.AppendLine($"| {r.Seed} | {s.Name} |{string.Concat(StageMetric.All.Select(m => $" {(s.Available ? F(m.Value(s)) : "n/a")} |"))}");
        sb.AppendLine();
        sb.AppendLine("| Seed | Seconds |").AppendLine("| ---: | ---: |");
        foreach (var r in summary.Runs) sb.AppendLine($"| {r.Seed} | {F(r.Timings.GetValueOrDefault("total"))} |");
        return sb.ToString();
    }

    // | [leading |] Stage | Closed seen | … | Answer format | [trailing |] and its alignment row.
    private static string TableHeader(string? leading, string? trailing)
    {
        var columns = new List<(string Name, string Align)>();
        if (leading is not null) columns.Add((leading, "---:"));
        columns.Add(("Stage", "---"));
        columns.AddRange(StageMetric.All.Select(m => (m.Header, "---:")));
        if (trailing is not null) columns.Add((trailing, "---"));
        return $"| {string.Join(" | ", columns.Select(c => c.Name))} |\n| {string.Join(" | ", columns.Select(c => c.Align))} |";
    }

    private const string Legend =
        "Closed world: accuracy (%) choosing among 4 options (chance 25 %); open world: text inclusion (%) of the ground-truth name " +
        "in the answer (no SigLIP model here, so no semantic similarity). Averages as in the paper: mean over super-categories, " +
        "then (seen + unseen) / 2. Answer format: closed-world outputs with an `<answer>` tag.\n\n" +
        "Plot (`results.png`): left, accuracy per stage (bars; with several seeds their mean and ± one standard deviation) and the " +
        "closed-world chance line; middle, training losses of pretraining and the SFT stages over their steps; right, TAPO's " +
        "reward and the accuracy of its rollouts per step.\n";

    private static string MeanSd(SeedStatistic s) => FormattableString.Invariant($"{s.Mean:F1} ± {s.StandardDeviation:F1}");

    private static string F(double? v) => v is null ? "–" : v.Value.ToString("F1", CultureInfo.InvariantCulture);
}
