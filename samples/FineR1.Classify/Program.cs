// FineR1.Classify: model folder + images → answers with reasoning (closed world with --closed, else open world).
// Every input is checked before the model loads; exit codes and error format: docs/reliability.md.
using FineR1.Cli;
using FineR1.Core.Hosting;
using FineR1.Core.Imaging;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;

const string Usage = """
    Usage: FineR1.Classify <model-folder> <image>... [options]

      --closed "a,b,c,d"   closed world: choose among these candidates (comma-separated); default: open world
      --question TEXT      the question (default: a generic fine-grained question)
      --device SPEC        auto (default), cpu, cuda, cuda:N
      --dtype SPEC         auto (default: bfloat16 on CUDA, float32 on CPU), float32, bfloat16, float16
      --max-new-tokens N   default 2048 (the paper's evaluation)
      --constrain          closed world: force the answer to one of the candidates
      --confidences        closed world: print a confidence per candidate
      --stream             print tokens as they are generated (one image at a time)
      --verbose            stack traces on errors
      --help               this text

    Exit codes: 0 done, 1 failure, 2 bad usage or input, 130 interrupted (Ctrl+C; answers printed so far stand).
    """;

return await CliApp.RunAsync(args, Usage, async app =>
{
    var args = app.Args;
    var positional = new List<string>();
    string? closed = null, question = null;
    string device = "auto", dtype = "auto";
    var options = new ClassifierOptions();
    bool stream = false;
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return ExitCodes.Ok;
            case "--closed": closed = Next(); break;
            case "--question": question = Next(); break;
            case "--device": device = Next(); break;
            case "--dtype": dtype = Next(); break;
            case "--max-new-tokens": options.MaxNewTokens = CliArgs.Int("--max-new-tokens", Next(), 1, 1_000_000); break;
            case "--constrain": options.ConstrainToCandidates = true; break;
            case "--confidences": options.ComputeConfidences = true; break;
            case "--stream": stream = true; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unknown option {args[i]}.");
                positional.Add(args[i]); break;
        }
    }
    if (positional.Count < 2) throw new UsageException("a model folder and at least one image are needed.");
    if (!DeviceSelector.IsValidSpec(device)) throw new UsageException($"--device '{device}' is not auto, cpu, cuda or cuda:N.");
    if (dtype is not ("auto" or "float32" or "bfloat16" or "float16")) throw new UsageException($"--dtype '{dtype}' is not auto, float32, bfloat16 or float16.");
    var candidates = closed?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    if (closed is not null && candidates!.Length == 0) throw new UsageException("--closed needs at least one candidate.");
    if ((options.ConstrainToCandidates || options.ComputeConfidences) && candidates is null)
        throw new UsageException("--constrain and --confidences need --closed candidates.");

    // Check every input before the (slow) model load: images (header only), then the model folder.
    var requests = positional.Skip(1).Select(p => new ClassificationRequest(p, question, candidates)).ToList();
    foreach (var request in requests)
    {
        ImageDecoder.ReadSize(request.ImagePath);
        FineGrainedClassifier.Validate(request);
    }
    var torchDevice = DeviceSelector.Resolve(device);
    var torchDType = DeviceSelector.ResolveDType(dtype, torchDevice);
    var (config, tokenizer) = FineR1Model.CheckFolder(CliArgs.ExistingFolder("model folder", positional[0]), torchDevice, torchDType);
    foreach (var request in requests) FineGrainedClassifier.Validate(request, options, tokenizer, config);

    Console.Error.WriteLine($"loading {positional[0]} on {torchDevice} …");
    using var model = FineR1Model.Load(positional[0], torchDevice, torchDType);
    var classifier = new FineGrainedClassifier(model, options);
    if (stream)
    {
        foreach (var request in requests)
        {
            Console.WriteLine($"== {request.ImagePath}");
            await foreach (var token in classifier.StreamAsync(request, app.Cancellation)) Console.Write(token.Text);
            Console.WriteLine();
        }
        return ExitCodes.Ok;
    }
    await foreach (var r in classifier.ClassifyBatchAsync(requests, app.Cancellation))
    {
        Console.WriteLine($"== {r.Request.ImagePath}");
        Console.WriteLine($"answer: {r.Answer ?? "(none)"}");
        if (r.Reasoning.VisualAnalysis is { } a) Console.WriteLine($"\n[visual analysis]\n{a}");
        if (r.Reasoning.Candidates is { } c) Console.WriteLine($"\n[candidates]\n{c}");
        if (r.Reasoning.Comparison is { } m) Console.WriteLine($"\n[comparison]\n{m}");
        if (r.Reasoning.Prediction is { } p) Console.WriteLine($"\n[prediction]\n{p}");
        if (r.Reasoning.VisualAnalysis is null && r.Reasoning.Prediction is null) Console.WriteLine($"\n[reasoning]\n{r.Reasoning.Think}");
        foreach (var s in r.Candidates ?? []) Console.WriteLine($"  {s.Confidence,7:P1}  {s.Name}");
        Console.WriteLine($"({r.TokenIds.Count} tokens, prefill {r.Timings.Prefill.TotalSeconds:F2} s, decode {r.Timings.Decode.TotalSeconds:F2} s, total {r.Timings.Total.TotalSeconds:F2} s)\n");
    }
    return ExitCodes.Ok;
});
