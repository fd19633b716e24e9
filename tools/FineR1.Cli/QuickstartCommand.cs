using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using FineR1.Core.Hosting;
using FineR1.Core.Text.Tokenization;
using FineR1.Experiments;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Cli;

/// <summary><c>finer1 quickstart [--quick] [--seeds N] [--device D]</c>: the whole Fine-R1 pipeline on the synthetic world, on a CPU (docs/quickstart.md).</summary>
public static class QuickstartCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Reduced run (10 species, shorter training; under 3 minutes on 2 cores)." };
        var output = new Option<string>("--output", "-o") { Description = "Output folder; the base model is cached in OUTPUT/cache.", DefaultValueFactory = _ => "quickstart-out" };
        var seed = new Option<int>("--seed") { Description = "Seed of the world, the initialisation and the data order (the first seed with --seeds).", DefaultValueFactory = _ => 1 };
        var seeds = new Option<int>("--seeds")
        {
            Description = "Run this many seeds (--seed, --seed + 1, …), each in OUTPUT/seed-N, and report mean ± standard deviation in OUTPUT.",
            DefaultValueFactory = _ => 1,
            Validators = { r => { if (r.GetValueOrDefault<int>() is < 1 or > 100) r.AddError("--seeds must be between 1 and 100."); } },
        };
        var device = CliOptions.Device();
        device.Description = "cpu (default), cuda, cuda:N or auto. On CUDA the default preset becomes the GPU preset (longer training; docs/quickstart.md).";
        device.DefaultValueFactory = _ => "cpu";
        var command = new Command("quickstart", "Run Fine-R1 end to end on FGVR-Synth, a generated fine-grained world: pretraining, SFT, CoT SFT, TAPO, evaluation.")
        {
            quick, output, seed, seeds, device,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var watch = Stopwatch.StartNew();
            QwenTokenizer tokenizer;
            using (var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("qwen-tokenizer.json.gz")!)
                tokenizer = QwenTokenizer.FromStream(stream, "qwen-tokenizer.json.gz", gzip: true, QwenTokenizerOptions.Qwen2_5_VL);
            bool isQuick = parse.GetValue(quick);
            string deviceSpec = parse.GetValue(device)!;
            bool onGpu = DeviceSelector.Resolve(deviceSpec).type == DeviceType.CUDA;
            string preset = isQuick ? "quick" : onGpu ? "gpu" : "default";
            int first = parse.GetValue(seed), count = parse.GetValue(seeds);
            ExperimentOptions Options(string folder, int s) => (isQuick ? ExperimentOptions.Quick(folder, s)
                : onGpu ? ExperimentOptions.Gpu(folder, s) : ExperimentOptions.Default(folder, s)) with { Device = deviceSpec };
            // One seed: everything in OUTPUT, as before. Several: OUTPUT/seed-N per seed, one shared base-model cache.
            var runs = count == 1 ? [Options(outDir, first)]
                : Enumerable.Range(first, count).Select(s => Options(Path.Combine(outDir, $"seed-{s}"), s) with { CacheFolder = Path.Combine(outDir, "cache") }).ToList();
            CliProgress.Console.MarkupLine($"FineR1 quickstart ({preset} preset, {(count == 1 ? $"seed {first}" : $"seeds {first}–{first + count - 1}")}, " +
                                           $"{Markup.Escape(deviceSpec)}, {runs[0].Threads} torch thread(s)) → {Markup.Escape(outDir)}");
            var files = await CliProgress.RunAsync(async ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                var progress = new SyncProgress(p =>
                {
                    if (!bars.TryGetValue(p.Phase, out var bar))
                        bars[p.Phase] = bar = ctx.AddTask(Markup.Escape(p.Phase), maxValue: Math.Max(1, p.Total));
                    bar.MaxValue = Math.Max(1, p.Total);
                    bar.Value = p.Done;
                });
                return count == 1
                    ? (await ExperimentRunner.RunAsync(runs[0], tokenizer, progress: progress, cancellationToken: ct)).Files
                    : (await ExperimentRunner.RunSeedsAsync(runs, outDir, tokenizer, progress, ct)).Files;
            });
            Console.WriteLine(File.ReadAllText(files.Markdown));
            Console.WriteLine($"Wrote {files.Markdown}, {files.MetricsJson}, {files.Plot} in {watch.Elapsed.TotalMinutes:F1} min.");
            return CliErrors.Ok;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }

    private sealed class SyncProgress(Action<ExperimentProgress> report) : IProgress<ExperimentProgress>
    {
        public void Report(ExperimentProgress value) => report(value);
    }
}
