using ScottPlot;

namespace FineR1.Experiments;

/// <summary>
/// Draws results.png with ScottPlot, three panels side by side: accuracy per stage (bars, a legend, the closed-world chance
/// line; with several seeds the mean and ± one standard deviation), the training losses (pretraining and each SFT stage,
/// over the share of their steps), and TAPO's reward and rollout accuracy per step (their own 0–1 axis).
/// </summary>
public static class ReportPlot
{
    /// <summary>Plot size in pixels.</summary>
    public const int Width = 1800, Height = 560;

    /// <summary>Closed-world chance: one of 4 options.</summary>
    public const double ClosedWorldChance = 25;

    /// <summary>Writes the plot of one run or of several seeds to <paramref name="path"/> (PNG).</summary>
    /// <param name="runs">One result per seed (one for a single run).</param>
    /// <param name="path">PNG file to write.</param>
    /// <exception cref="ArgumentException">No run.</exception>
    public static void Draw(IReadOnlyList<ExperimentResult> runs, string path)
    {
        if (runs.Count == 0) throw new ArgumentException("Nothing to plot: no run.", nameof(runs));
        var figure = new Multiplot();
        figure.AddPlots(3);
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Accuracy(figure.GetPlot(0), runs);
        Losses(figure.GetPlot(1), runs);
        Rewards(figure.GetPlot(2), runs);
        figure.SavePng(path, Width, Height);
    }

    private static void Accuracy(Plot plot, IReadOnlyList<ExperimentResult> runs)
    {
        var summary = MultiSeedResult.Aggregate(runs, ".");
        var palette = new ScottPlot.Palettes.Category10();
        int bars = StageMetric.Accuracies.Count;
        for (int k = 0; k < bars; k++)
        {
            var metric = StageMetric.Accuracies[k];
            var series = new List<Bar>();
            for (int i = 0; i < summary.Stages.Count; i++)
            {
                if (!summary.Stages[i].Metrics.TryGetValue(metric.Key, out var v)) continue;   // stage not available: no bar
                // Stage i's bars sit at i·(bars + 1) + k: one empty slot between stages.
                series.Add(new Bar { Position = i * (bars + 1) + k, Value = v.Mean, Error = runs.Count > 1 ? v.StandardDeviation : 0, FillColor = palette.GetColor(k) });
            }
            var added = plot.Add.Bars(series);
            added.LegendText = metric.Header.ToLowerInvariant();
        }
        var chance = plot.Add.HorizontalLine(ClosedWorldChance);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance, closed world (4 options)";
        plot.Axes.Bottom.SetTicks(
            summary.Stages.Select((_, i) => i * (bars + 1) + (bars - 1) / 2.0).ToArray(),
            summary.Stages.Select(s => s.Name).ToArray());
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("accuracy (%)");
        plot.Title(runs.Count > 1 ? $"Accuracy per stage, mean ± sd of {runs.Count} seeds" : $"Accuracy per stage, seed {runs[0].Seed}");
        plot.ShowLegend(Alignment.UpperLeft);
    }

    private static void Losses(Plot plot, IReadOnlyList<ExperimentResult> runs)
    {
        var curves = new List<(string Name, IReadOnlyList<double>[] PerRun)> { ("pretraining", runs.Select(r => Values(r.PretrainingCurve, "loss")).ToArray()) };
        foreach (var name in runs[0].Stages.Select(s => s.Name))
            curves.Add((name, runs.Select(r => Values(r.Stages.FirstOrDefault(s => s.Name == name)?.Curve ?? [], "loss")).ToArray()));
        foreach (var (name, perRun) in curves)
        {
            var mean = Mean(perRun);
            if (mean.Length == 0) continue;
            // x: % of the phase's steps, since pretraining takes hundreds of times more steps than an SFT stage.
            var xs = Enumerable.Range(1, mean.Length).Select(i => 100.0 * i / mean.Length).ToArray();
            var line = plot.Add.ScatterLine(xs, mean.Select(m => m.Mean).ToArray());
            line.LegendText = name;
            line.LineWidth = 2;
        }
        plot.XLabel("% of the phase's steps");
        plot.YLabel("training loss (cross-entropy per target token)");
        plot.Title(runs.Count > 1 ? $"Training losses, mean of {runs.Count} seeds" : "Training losses");
        plot.ShowLegend(Alignment.UpperRight);
    }

    private static void Rewards(Plot plot, IReadOnlyList<ExperimentResult> runs)
    {
        var tapo = runs[0].Stages.FirstOrDefault(s => s.Curve.Any(p => p.Metric == "reward"))?.Name;
        plot.Title(tapo is null ? "No RL stage ran" : runs.Count > 1 ? $"{tapo}: per RL step, mean ± sd of {runs.Count} seeds" : $"{tapo}: per RL step");
        if (tapo is null) return;
        var palette = new ScottPlot.Palettes.Category10();
        (string Metric, string Label)[] series =
            [("reward", "reward of the trained batch"), ("generated_accuracy", "accuracy of all rollouts"), ("accuracy", "accuracy of the trained batch")];
        for (int k = 0; k < series.Length; k++)
        {
            var mean = Mean(runs.Select(r => Values(r.Stages.FirstOrDefault(s => s.Name == tapo)?.Curve ?? [], series[k].Metric)).ToArray());
            if (mean.Length == 0) continue;
            var xs = Enumerable.Range(1, mean.Length).Select(i => (double)i).ToArray();
            var ys = mean.Select(m => m.Mean).ToArray();
            var line = plot.Add.Scatter(xs, ys, palette.GetColor(k + 4));
            line.LegendText = series[k].Label;
            line.LineWidth = 2;
            if (runs.Count > 1)
            {
                var errors = plot.Add.ErrorBar(xs, ys, mean.Select(m => m.StandardDeviation).ToArray());
                errors.Color = line.Color;
            }
        }
        plot.Axes.SetLimitsY(0, 1);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.XLabel("RL step");
        plot.YLabel("reward / accuracy (0–1)");
        plot.ShowLegend(Alignment.UpperLeft);
    }

    private static IReadOnlyList<double> Values(IEnumerable<CurvePoint> curve, string metric) => curve.Where(p => p.Metric == metric).Select(p => p.Value).ToList();

    /// <summary>Mean and sd per step over the runs (the shortest run's length; runs of one preset have equal lengths).</summary>
    private static SeedStatistic[] Mean(IReadOnlyList<double>[] perRun)
    {
        int length = perRun.Min(c => c.Count);
        return Enumerable.Range(0, length).Select(i => SeedStatistic.Of(perRun.Select(c => c[i]).ToList())).ToArray();
    }
}
