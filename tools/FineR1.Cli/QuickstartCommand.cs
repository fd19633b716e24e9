using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using FineR1.Core.Text.Tokenization;
using FineR1.Experiments;
using Spectre.Console;

namespace FineR1.Cli;

/// <summary><c>finer1 quickstart [--quick]</c>: the whole Fine-R1 pipeline on the synthetic world, on a CPU (docs/quickstart.md).</summary>
public static class QuickstartCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Reduced run (10 species, shorter training; under 3 minutes on 2 cores)." };
        var output = new Option<string>("--output", "-o") { Description = "Output folder; the base model is cached in OUTPUT/cache.", DefaultValueFactory = _ => "quickstart-out" };
        var seed = new Option<int>("--seed") { Description = "Seed of the world, the initialisation and the data order.", DefaultValueFactory = _ => 1 };
        var command = new Command("quickstart", "Run Fine-R1 end to end on FGVR-Synth, a generated fine-grained world: pretraining, SFT, CoT SFT, TAPO, evaluation.")
        {
            quick, output, seed,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var watch = Stopwatch.StartNew();
            QwenTokenizer tokenizer;
            using (var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("qwen-tokenizer.json.gz")!)
                tokenizer = QwenTokenizer.FromStream(stream, "qwen-tokenizer.json.gz", gzip: true, QwenTokenizerOptions.Qwen2_5_VL);
            bool isQuick = parse.GetValue(quick);
            var options = isQuick ? ExperimentOptions.Quick(outDir, parse.GetValue(seed)) : ExperimentOptions.Default(outDir, parse.GetValue(seed));
            CliProgress.Console.MarkupLine($"FineR1 quickstart ({(isQuick ? "quick" : "full")}, seed {parse.GetValue(seed)}, {Environment.ProcessorCount} cores) → {Markup.Escape(outDir)}");
            var result = await CliProgress.RunAsync(ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var progress = new SyncProgress(p =>
                {
                    if (!bars.TryGetValue(p.Phase, out var bar))
                        bars[p.Phase] = bar = ctx.AddTask(Markup.Escape(p.Phase), maxValue: Math.Max(1, p.Total));
                    bar.MaxValue = Math.Max(1, p.Total);
                    bar.Value = p.Done;
                });
                return ExperimentRunner.RunAsync(options, tokenizer, progress: progress, cancellationToken: ct);
            });
            Console.WriteLine(File.ReadAllText(result.Files.Markdown));
            Console.WriteLine($"Wrote {result.Files.Markdown}, {result.Files.MetricsJson}, {result.Files.Plot} in {watch.Elapsed.TotalMinutes:F1} min.");
            return CliErrors.Ok;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }

    private sealed class SyncProgress(Action<ExperimentProgress> report) : IProgress<ExperimentProgress>
    {
        public void Report(ExperimentProgress value) => report(value);
    }
}
