namespace FineR1.Experiments;

/// <summary>One number of the results table over several seeds.</summary>
/// <param name="Mean">Mean over the seeds.</param>
/// <param name="StandardDeviation">Sample standard deviation (n − 1 in the denominator; 0 for one seed).</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Values">The value of each seed, in seed order.</param>
public sealed record SeedStatistic(double Mean, double StandardDeviation, double Min, double Max, IReadOnlyList<double> Values)
{
    /// <summary>The statistic of <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">No value.</exception>
    public static SeedStatistic Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("A statistic needs at least one value.", nameof(values));
        double mean = values.Average();
        // Worked example: 0, 25, 50 → mean 25, squares 625 + 0 + 625 over n − 1 = 2 → sd 25.
        double sd = values.Count == 1 ? 0 : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SeedStatistic(Math.Round(mean, 4), Math.Round(sd, 4), values.Min(), values.Max(), values.ToList());
    }
}

/// <summary>A column of the results table: its key in metrics.json, its header, and how a stage's result gives it.</summary>
/// <param name="Key">snake_case key, e.g. <c>open_unseen</c>.</param>
/// <param name="Header">Markdown header, e.g. "Open unseen".</param>
/// <param name="Value">The stage's value, or null when it has none (stage not available, world not evaluated).</param>
public sealed record StageMetric(string Key, string Header, Func<StageResult, double?> Value)
{
    /// <summary>Every column, in table order.</summary>
    public static IReadOnlyList<StageMetric> All { get; } =
    [
        new("closed_seen", "Closed seen", s => s.ClosedWorld?.Seen),
        new("closed_unseen", "Closed unseen", s => s.ClosedWorld?.Unseen),
        new("closed_average", "Closed avg.", s => s.ClosedWorld?.Average),
        new("open_seen", "Open seen", s => s.OpenWorld?.Seen),
        new("open_unseen", "Open unseen", s => s.OpenWorld?.Unseen),
        new("open_average", "Open avg.", s => s.OpenWorld?.Average),
        new("answer_format", "Answer format", s => s.AnswerFormatRate),
    ];

    /// <summary>The four accuracies the plot draws as bars: closed seen, closed unseen, open seen, open unseen.</summary>
    public static IReadOnlyList<StageMetric> Accuracies { get; } = [All[0], All[1], All[3], All[4]];
}

/// <summary>One stage over several seeds.</summary>
/// <param name="Name">Stage name.</param>
/// <param name="Runs">Seeds in which the stage ran (was available).</param>
/// <param name="Metrics">Per <see cref="StageMetric.Key"/> with a value in at least one run: its statistic over those runs.</param>
public sealed record StageSummary(string Name, int Runs, IReadOnlyDictionary<string, SeedStatistic> Metrics);

/// <summary>The quickstart run for several seeds: every seed's <see cref="ExperimentResult"/> and mean ± spread per stage.</summary>
public sealed record MultiSeedResult
{
    /// <summary>Seeds, in run order.</summary>
    public required IReadOnlyList<int> Seeds { get; init; }

    /// <summary>Each seed's full result (its own folder, table and plot).</summary>
    public required IReadOnlyList<ExperimentResult> Runs { get; init; }

    /// <summary>Stages in table order with their statistics over the seeds.</summary>
    public required IReadOnlyList<StageSummary> Stages { get; init; }

    /// <summary>The summary's files (results.md, metrics.json, timings.json, results.png in the parent folder).</summary>
    public required ExperimentFiles Files { get; init; }

    /// <summary>Mean ± spread of <paramref name="runs"/> per stage and metric; files named in <paramref name="outputFolder"/>.</summary>
    /// <param name="runs">One result per seed, all with the same stages.</param>
    /// <param name="outputFolder">Where the summary goes.</param>
    /// <exception cref="ArgumentException">No run, or two runs of the same seed.</exception>
    public static MultiSeedResult Aggregate(IReadOnlyList<ExperimentResult> runs, string outputFolder)
    {
        if (runs.Count == 0) throw new ArgumentException("Nothing to aggregate: no run.", nameof(runs));
        if (runs.Select(r => r.Seed).Distinct().Count() != runs.Count)
            throw new ArgumentException($"Seeds repeat ({string.Join(", ", runs.Select(r => r.Seed))}): a mean over seeds needs distinct seeds.", nameof(runs));
        var names = runs.SelectMany(r => r.Stages.Select(s => s.Name)).Distinct().ToList();   // first-appearance order
        var stages = names.Select(name =>
        {
            var available = runs.Select(r => r.Stages.FirstOrDefault(s => s.Name == name)).Where(s => s is { Available: true }).Select(s => s!).ToList();
            var metrics = new Dictionary<string, SeedStatistic>();
            foreach (var m in StageMetric.All)
            {
                var values = available.Select(m.Value).Where(v => v is not null).Select(v => v!.Value).ToList();
                if (values.Count > 0) metrics[m.Key] = SeedStatistic.Of(values);
            }
            return new StageSummary(name, available.Count, metrics);
        }).ToList();
        return new MultiSeedResult
        {
            Seeds = runs.Select(r => r.Seed).ToList(), Runs = runs, Stages = stages,
            Files = ExperimentFiles.In(outputFolder),
        };
    }
}
