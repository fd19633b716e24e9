// FineR1.Evaluate: the paper's benchmark (docs/method.md §6) over a dataset root and eval jsonl files; JSON + Markdown reports.
// Every input is checked before the model loads; an existing results.jsonl is never deleted by default.
// Exit codes and error format: docs/reliability.md.
using FineR1.Cli;
using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using FineR1.Inference.Siglip;

const string Usage = """
    Usage: FineR1.Evaluate <model-folder> --images <dataset-root> --out <folder> <eval.jsonl>... [options]

      --images DIR         folder the records' image_path values are relative to (paths may not leave it)
      --out DIR            writes results.jsonl, report.json, report.md there
      --open               open-world protocol (default: closed world)
      --siglip DIR         SigLIP text tower (google/siglip-base-patch16-256) for the open-world similarity
      --resume             continue the results.jsonl of an earlier run, skipping records already predicted
      --overwrite          start over: an existing results.jsonl is renamed to results.jsonl.<time>.bak (never deleted)
      --allow-outside-root accept image paths that leave --images
      --batch-size N       prompts per generation batch (default 2, as the reference)
      --max-new-tokens N   default 2048
      --device SPEC        auto (default), cpu, cuda, cuda:N
      --dtype SPEC         auto (default), float32, bfloat16, float16
      --constrain          answer only with a listed option (not the reference protocol)
      --verbose            stack traces on errors
      --help               this text

    Exit codes: 0 done, 1 failure, 2 bad usage or input, 130 interrupted (Ctrl+C: results.jsonl keeps every finished
    batch; rerun with --resume to continue).
    """;

return await CliApp.RunAsync(args, Usage, async app =>
{
    var args = app.Args;
    var files = new List<string>();
    string? model = null, images = null, output = null, siglip = null;
    string device = "auto", dtype = "auto";
    bool open = false, resume = false, overwrite = false, allowOutside = false;
    var options = new ClassifierOptions();
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return ExitCodes.Ok;
            case "--images": images = Next(); break;
            case "--out": output = Next(); break;
            case "--open": open = true; break;
            case "--siglip": siglip = Next(); break;
            case "--resume": resume = true; break;
            case "--overwrite": overwrite = true; break;
            case "--allow-outside-root": allowOutside = true; break;
            case "--batch-size": options.BatchSize = CliArgs.Int("--batch-size", Next(), 1, 4096); break;
            case "--max-new-tokens": options.MaxNewTokens = CliArgs.Int("--max-new-tokens", Next(), 1, 1_000_000); break;
            case "--device": device = Next(); break;
            case "--dtype": dtype = Next(); break;
            case "--constrain": options.ConstrainToCandidates = true; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unknown option {args[i]}.");
                if (model is null) model = args[i]; else files.Add(args[i]);
                break;
        }
    }
    if (model is null || images is null || output is null || files.Count == 0)
        throw new UsageException("a model folder, --images, --out and at least one eval file are needed.");
    if (resume && overwrite) throw new UsageException("--resume and --overwrite exclude each other.");
    if (!DeviceSelector.IsValidSpec(device)) throw new UsageException($"--device '{device}' is not auto, cpu, cuda or cuda:N.");
    if (dtype is not ("auto" or "float32" or "bfloat16" or "float16")) throw new UsageException($"--dtype '{dtype}' is not auto, float32, bfloat16 or float16.");

    // Check every input before the (slow) model load.
    CliArgs.ExistingFolder("--images folder", images);
    var evaluation = new EvaluationOptions
    {
        Files = files.Select(f => CliArgs.RegularFile("eval file", f)).ToList(), ImageRoot = images,
        ResultsPath = Path.Combine(output, "results.jsonl"), BatchSize = options.BatchSize, AllowImagesOutsideRoot = allowOutside,
        Protocol = open ? EvalProtocol.OpenWorld : EvalProtocol.ClosedWorld,
    };
    var bad = EvaluationRunner.CheckInputs(evaluation, out int records);
    if (records == 0) throw new CliInputException("the eval files hold no record.");
    if (bad.Count == records) throw new CliInputException($"none of the {records} records can be evaluated; the first: {bad[0].SourceFile}:{bad[0].LineNumber}: {bad[0].Message}");
    foreach (var f in bad.Take(5)) Console.Error.WriteLine($"warning: {f.SourceFile}:{f.LineNumber}: {f.Message} (counted as wrong)");
    if (bad.Count > 5) Console.Error.WriteLine($"warning: {bad.Count - 5} more records cannot be evaluated (listed in the report).");
    if (siglip is not null) CliArgs.ExistingFolder("--siglip folder", siglip);
    CliArgs.OutputFolder(output);
    var results = evaluation.ResultsPath!;
    if (File.Exists(results) && !resume)
    {
        if (!overwrite) throw new CliInputException($"{results} exists; pass --resume to continue it or --overwrite to start over (it is then kept as a .bak file).");
        var backup = $"{results}.{DateTime.UtcNow:yyyyMMdd-HHmmss}.bak";
        File.Move(results, backup);
        Console.Error.WriteLine($"kept the earlier results as {backup}");
    }
    var torchDevice = DeviceSelector.Resolve(device);
    var torchDType = DeviceSelector.ResolveDType(dtype, torchDevice);
    FineR1Model.CheckFolder(CliArgs.ExistingFolder("model folder", model), torchDevice, torchDType);

    Console.Error.WriteLine($"loading {model} on {torchDevice} …");
    using var bundle = FineR1Model.Load(model, torchDevice, torchDType);
    using var embedder = siglip is null ? null : SiglipTextEmbedder.Load(siglip);
    var runner = new EvaluationRunner(new FineGrainedClassifier(bundle, options), embedder);
    EvaluationReport report;
    try
    {
        report = await runner.RunAsync(evaluation,
            new Progress<EvaluationProgress>(p => Console.Error.WriteLine($"{p.File}: {p.Done}/{p.Total} (failed {p.Failed}, resumed {p.Resumed})")), app.Cancellation);
    }
    catch (OperationCanceledException) when (app.Cancellation.IsCancellationRequested)
    {
        Console.Error.WriteLine($"finished batches are kept in {results}; rerun with --resume to continue.");
        throw;
    }
    var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(model));
    await report.WriteAsync(Path.Combine(output, "report.json"), Path.Combine(output, "report.md"), modelName: name);
    Console.WriteLine(report.ToMarkdown(name));
    return ExitCodes.Ok;
});
