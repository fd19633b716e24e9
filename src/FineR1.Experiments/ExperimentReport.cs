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
        ReportPlot.Draw(result, result.Files.Plot);
    }

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
        sb.AppendLine("| Stage | Closed seen | Closed unseen | Closed avg. | Open seen | Open unseen | Open avg. | Answer format | Trainer |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var s in result.Stages)
        {
            if (!s.Available) { sb.AppendLine($"| {s.Name} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | not available yet: {s.Note} |"); continue; }
            sb.AppendLine($"| {s.Name} | {F(s.ClosedWorld?.Seen)} | {F(s.ClosedWorld?.Unseen)} | {F(s.ClosedWorld?.Average)} | " +
                          $"{F(s.OpenWorld?.Seen)} | {F(s.OpenWorld?.Unseen)} | {F(s.OpenWorld?.Average)} | {F(s.AnswerFormatRate)} | {s.Note} |");
        }
        sb.AppendLine();
        sb.AppendLine("Closed world: accuracy (%) choosing among 4 options (chance 25 %); open world: text inclusion (%) of the ground-truth name " +
                      "in the answer (no SigLIP model here, so no semantic similarity). Averages as in the paper: mean over super-categories, " +
                      "then (seen + unseen) / 2. Answer format: closed-world outputs with an `<answer>` tag.").AppendLine();
        sb.AppendLine("Plot (`results.png`): left, accuracy bars per stage (closed seen, closed unseen, open seen, open unseen, in that order; " +
                      "the dashed line is closed-world chance); right, training losses (pretraining, then each stage) and rewards.").AppendLine();
        sb.AppendLine("| Phase | Seconds |").AppendLine("| --- | ---: |");
        foreach (var (k, v) in result.Timings) sb.AppendLine($"| {k} | {v.ToString("F1", CultureInfo.InvariantCulture)} |");
        return sb.ToString();
    }

    private static string F(double? v) => v is null ? "–" : v.Value.ToString("F1", CultureInfo.InvariantCulture);
}
