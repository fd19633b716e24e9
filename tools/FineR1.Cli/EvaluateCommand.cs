using System.CommandLine;
using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using FineR1.Inference.Siglip;
using Spectre.Console;

namespace FineR1.Cli;

/// <summary><c>finer1 evaluate MODEL FILE.jsonl... --images DIR -o DIR</c>: the paper's evaluation protocol, resumable.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Hugging Face model folder." };
        var files = new Argument<string[]>("files") { Description = "Evaluation files (*.jsonl, the paper's format).", Arity = ArgumentArity.OneOrMore };
        var images = new Option<string>("--images") { Description = "Folder the files' image paths are relative to.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output folder: results.jsonl (resume journal), report.json, report.md.", Required = true };
        var open = new Option<bool>("--open") { Description = "Open-world protocol (default: closed world)." };
        var siglip = new Option<string?>("--siglip") { Description = "Open world: SigLIP model folder for the semantic-similarity metric." };
        var fresh = new Option<bool>("--fresh") { Description = "Start over instead of resuming from output/results.jsonl (the old file is kept as results.jsonl.bak)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Requests per generation batch.", DefaultValueFactory = _ => 2 };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Longest answer in tokens.", DefaultValueFactory = _ => 2048 };
        var constrain = new Option<bool>("--constrain") { Description = "Answer only with a listed option (not the reference protocol)." };
        var device = CliOptions.Device();
        var dtype = CliOptions.DType();
        var command = new Command("evaluate", "Evaluate a model with the paper's protocol; an interrupted run resumes where it stopped.")
        {
            model, files, images, output, open, siglip, fresh, batchSize, maxNewTokens, constrain, device, dtype,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var outDir = parse.GetValue(output)!;
            var imageRoot = parse.GetValue(images)!;
            if (!Directory.Exists(imageRoot)) throw new DirectoryNotFoundException($"--images folder not found: {imageRoot}");
            var evalFiles = parse.GetValue(files)!;
            foreach (var f in evalFiles) if (!File.Exists(f)) throw new FileNotFoundException($"evaluation file not found: {f}", f);
            if (parse.GetValue(batchSize) < 1) throw new UsageException($"--batch-size must be at least 1, got {parse.GetValue(batchSize)}.");

            // Every input is checked before the (slow) model load: records and their images, the model folder.
            var evalFileList = evalFiles.Select(f => CliArgs.RegularFile("eval file", f)).ToList();
            var bad = EvaluationRunner.CheckInputs(new EvaluationOptions { Files = evalFileList, ImageRoot = imageRoot }, out int records);
            if (records == 0) throw new CliInputException("the eval files hold no record.");
            if (bad.Count == records)
                throw new CliInputException($"none of the {records} records can be evaluated; the first: {bad[0].SourceFile}:{bad[0].LineNumber}: {bad[0].Message}");
            foreach (var f in bad.Take(5)) Console.Error.WriteLine($"warning: {f.SourceFile}:{f.LineNumber}: {f.Message} (counted as wrong)");
            if (bad.Count > 5) Console.Error.WriteLine($"warning: {bad.Count - 5} more records cannot be evaluated (listed in the report).");
            if (parse.GetValue(siglip) is { } siglipDir) CliArgs.ExistingFolder("--siglip folder", siglipDir);
            var torchDevice = DeviceSelector.Resolve(parse.GetValue(device)!);
            FineR1Model.CheckFolder(CliArgs.ExistingFolder("model folder", parse.GetValue(model)!), torchDevice,
                DeviceSelector.ResolveDType(parse.GetValue(dtype)!, torchDevice));

            CliArgs.OutputFolder(outDir);   // created and proven writable before the model loads
            var results = Path.Combine(outDir, "results.jsonl");
            if (parse.GetValue(fresh) && File.Exists(results))
                File.Move(results, results + ".bak", overwrite: true);   // never delete what a user had: the old results stay as a backup
            using var loggers = CliOptions.Loggers(parse.GetValue(CliOptions.Verbose));
            var modelDir = parse.GetValue(model)!;
            using var bundle = await CliProgress.LoadModelAsync(modelDir, parse.GetValue(device)!, parse.GetValue(dtype)!, loggers, ct);
            using var embedder = parse.GetValue(siglip) is { } s ? SiglipTextEmbedder.Load(s) : null;
            var options = new ClassifierOptions
            {
                BatchSize = parse.GetValue(batchSize), MaxNewTokens = parse.GetValue(maxNewTokens), ConstrainToCandidates = parse.GetValue(constrain),
            };
            var runner = new EvaluationRunner(new FineGrainedClassifier(bundle, options), embedder);
            var report = await CliProgress.RunAsync(async ctx =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                return await runner.RunAsync(new EvaluationOptions
                {
                    Files = evalFiles, ImageRoot = imageRoot, ResultsPath = results, BatchSize = options.BatchSize,
                    Protocol = parse.GetValue(open) ? EvalProtocol.OpenWorld : EvalProtocol.ClosedWorld,
                }, new Progress<EvaluationProgress>(p =>
                {
                    if (!bars.TryGetValue(p.File, out var bar))
                        bars[p.File] = bar = ctx.AddTask(Markup.Escape(Path.GetFileName(p.File)), maxValue: Math.Max(1, p.Total));
                    bar.Value = p.Done;
                    bar.Description = $"{Markup.Escape(Path.GetFileName(p.File))} (failed {p.Failed}, resumed {p.Resumed})";
                }), ct);
            });
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir));
            await report.WriteAsync(Path.Combine(outDir, "report.json"), Path.Combine(outDir, "report.md"), modelName: name);
            Console.WriteLine(report.ToMarkdown(name));
            return CliErrors.Ok;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }
}
