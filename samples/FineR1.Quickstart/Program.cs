using System.Diagnostics;
using System.Reflection;
using FineR1.Cli;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Inference.Evaluation;
using FineR1.Quickstart;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using static TorchSharp.torch;

const string Usage = """
FineR1 quickstart: the whole Fine-R1 pipeline on a synthetic fine-grained world, on a CPU, with no downloads.

  dotnet run -c Release --project samples/FineR1.Quickstart [options]

  --quick             reduced run (10 species, shorter training; under 3 minutes on 2 cores)
  --out DIR           output folder (default: ./quickstart-out); the base model is cached in DIR/cache
  --seed N            seed of the world, the initialisation and the data order (default 1)
  --model DIR         a real Qwen2.5-VL checkpoint folder (config.json, *.safetensors, tokenizer.json) ...
  --data DIR          ... and a dataset in the paper's layout (DIR/eval/*.jsonl, image paths relative to DIR):
                      evaluates the checkpoint closed-world with the paper's protocol (CUDA when available)
  --verbose           stack traces on errors
  --help              this text

Exit codes: 0 done, 1 failure, 2 bad usage or input, 130 interrupted (Ctrl+C; finished stages are kept in DIR).
""";

string? outDir = null, modelDir = null, dataDir = null;
bool quick = false;
int seed = 1;
return await CliApp.RunAsync(args, Usage, async app =>
{
    var args = app.Args;
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return 0;
            case "--quick": quick = true; break;
            case "--out": outDir = Next(); break;
            case "--seed": seed = CliArgs.Int("--seed", Next(), 0); break;
            case "--model": modelDir = Next(); break;
            case "--data": dataDir = Next(); break;
            default: throw new UsageException($"unknown argument '{args[i]}'.");
        }
    }
    if ((modelDir is null) != (dataDir is null)) throw new UsageException("--model and --data go together.");

    outDir ??= Path.Combine(Environment.CurrentDirectory, "quickstart-out");
    CliArgs.OutputFolder(outDir);
    var watch = Stopwatch.StartNew();

    if (modelDir is not null) return await RealRun.RunAsync(modelDir, dataDir!, outDir, app.Cancellation);

    QwenTokenizer tokenizer;
    using (var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("qwen-tokenizer.json.gz")!)
        tokenizer = QwenTokenizer.FromStream(stream, "qwen-tokenizer.json.gz", gzip: true, QwenTokenizerOptions.Qwen2_5_VL);

    var options = quick ? ExperimentOptions.Quick(outDir, seed) : ExperimentOptions.Default(outDir, seed);
    Console.WriteLine($"FineR1 quickstart ({(quick ? "quick" : "full")}, seed {seed}, {Environment.ProcessorCount} cores) → {outDir}");
    var progress = new ConsoleProgress();
    var result = await ExperimentRunner.RunAsync(options, tokenizer, progress: progress, cancellationToken: app.Cancellation);
    progress.Done();
    Console.WriteLine();
    Console.WriteLine(File.ReadAllText(result.Files.Markdown));
    Console.WriteLine($"Wrote {result.Files.Markdown}, {result.Files.MetricsJson}, {result.Files.Plot} in {watch.Elapsed.TotalMinutes:F1} min.");
    return 0;
});
