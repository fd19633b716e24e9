using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineR1.Inference.Evaluation;

/// <summary>Scores of one eval file (percent; failed records count as wrong / zero, as they would in the reference).</summary>
public sealed record FileScore
{
    /// <summary>File name, e.g. <c>bird_seen.jsonl</c>.</summary>
    public required string File { get; init; }
    /// <summary>Dataset key from the file name (<c>bird</c>).</summary>
    public required string Dataset { get; init; }
    /// <summary><c>seen</c>, <c>unseen</c>, or null when the name has neither suffix.</summary>
    public string? Split { get; init; }
    /// <summary>Non-blank lines in the file (the denominator of every score).</summary>
    public int Records { get; init; }
    /// <summary>Records predicted in this run.</summary>
    public int Predicted { get; init; }
    /// <summary>Records taken from the results file of an earlier run.</summary>
    public int Resumed { get; init; }
    /// <summary>Records that could not be evaluated (bad line, missing image, predictor error).</summary>
    public int Failed { get; init; }
    /// <summary>Closed world: accuracy. Open world: text inclusion.</summary>
    public double Accuracy { get; init; }
    /// <summary>Open world with an embedder: mean relative semantic similarity × 100.</summary>
    public double? SemanticSimilarity { get; init; }
}

/// <summary>A row of the paper's tables for one metric.</summary>
/// <param name="Metric">What the numbers are.</param>
/// <param name="Datasets">Datasets with both a seen and an unseen file, in the paper's column order.</param>
/// <param name="Averages">Seen, unseen and overall averages (docs/method.md §6.5).</param>
public sealed record PaperRow(string Metric, IReadOnlyList<DatasetScore> Datasets, TableAverages Averages);

/// <summary>What an evaluation run produced.</summary>
public sealed record EvaluationReport
{
    /// <summary>Protocol run.</summary>
    public EvalProtocol Protocol { get; init; }
    /// <summary>Per-file scores.</summary>
    public required IReadOnlyList<FileScore> Files { get; init; }
    /// <summary>Paper-style rows (accuracy or text inclusion; semantic similarity when computed).</summary>
    public required IReadOnlyList<PaperRow> Rows { get; init; }
    /// <summary>Every record that failed, with file and line.</summary>
    public required IReadOnlyList<EvalFailure> Failures { get; init; }
    /// <summary>Non-fatal problems (e.g. unreadable lines in the results file).</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The report as indented JSON (snake_case names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Markdown: the paper-style table(s), per-file details, and the failures.</summary>
    public string ToMarkdown(string modelName = "model")
    {
        var sb = new StringBuilder();
        foreach (var row in Rows)
        {
            sb.AppendLine($"### {row.Metric} (%)").AppendLine();
            var labels = row.Datasets.Select(d => PaperAggregation.ColumnLabel(d.Dataset)).ToList();
            sb.Append("| Model | ").Append(string.Join(" | ", labels.Select(l => l + " seen"))).Append(" | Seen Avg. | ")
              .Append(string.Join(" | ", labels.Select(l => l + " unseen"))).AppendLine(" | Unseen Avg. | Avg. |");
            sb.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" ---: |", 2 * labels.Count + 3))).AppendLine();
            sb.Append($"| {modelName} | ").Append(string.Join(" | ", row.Datasets.Select(d => F(d.Seen)))).Append($" | {F(row.Averages.SeenAverage)} | ")
              .Append(string.Join(" | ", row.Datasets.Select(d => F(d.Unseen))))
              .AppendLine($" | {F(row.Averages.UnseenAverage)} | {F(row.Averages.Overall)} |").AppendLine();
        }
        bool open = Protocol == EvalProtocol.OpenWorld;
        sb.AppendLine("### Files").AppendLine();
        sb.AppendLine(open ? "| File | Records | Predicted | Resumed | Failed | Text inclusion | Rel. semantic similarity |"
                           : "| File | Records | Predicted | Resumed | Failed | Accuracy |");
        sb.AppendLine(open ? "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" : "| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var f in Files)
        {
            sb.Append($"| {f.File} | {f.Records} | {f.Predicted} | {f.Resumed} | {f.Failed} | {F(f.Accuracy)} |");
            if (open) sb.Append(f.SemanticSimilarity is { } s ? $" {F(s)} |" : " – |");
            sb.AppendLine();
        }
        if (Failures.Count > 0)
        {
            sb.AppendLine().AppendLine($"### Failures ({Failures.Count})").AppendLine();
            foreach (var f in Failures.Take(100)) sb.AppendLine($"- `{f.SourceFile}:{f.LineNumber}` {f.Message}");
            if (Failures.Count > 100) sb.AppendLine($"- … and {Failures.Count - 100} more (see the JSON report)");
        }
        return sb.ToString();
    }

    /// <summary>Writes <see cref="ToJson"/> and <see cref="ToMarkdown"/> to the two paths.</summary>
    public async Task WriteAsync(string jsonPath, string markdownPath, string modelName = "model", CancellationToken cancellationToken = default)
    {
        await File.WriteAllTextAsync(jsonPath, ToJson(), cancellationToken);
        await File.WriteAllTextAsync(markdownPath, ToMarkdown(modelName), cancellationToken);
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
