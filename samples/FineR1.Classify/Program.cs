// FineR1.Classify: model folder + images → answers with reasoning (closed world with --closed, else open world).
using FineR1.Core.Hosting;
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
      --help               this text
    """;

var positional = new List<string>();
string? closed = null, question = null;
string device = "auto", dtype = "auto";
var options = new ClassifierOptions();
bool stream = false;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return 0;
            case "--closed": closed = Next(); break;
            case "--question": question = Next(); break;
            case "--device": device = Next(); break;
            case "--dtype": dtype = Next(); break;
            case "--max-new-tokens": options.MaxNewTokens = int.Parse(Next()); break;
            case "--constrain": options.ConstrainToCandidates = true; break;
            case "--confidences": options.ComputeConfidences = true; break;
            case "--stream": stream = true; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unknown option {args[i]}.");
                positional.Add(args[i]); break;
        }
    }
    if (positional.Count < 2) throw new ArgumentException("a model folder and at least one image are needed.");
    if (!DeviceSelector.IsValidSpec(device)) throw new ArgumentException($"--device '{device}' is not auto, cpu, cuda or cuda:N.");
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"error: {e.Message}\n\n{Usage}");
    return 2;
}

var candidates = closed?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
var torchDevice = DeviceSelector.Resolve(device);
Console.Error.WriteLine($"loading {positional[0]} on {torchDevice} …");
using var model = FineR1Model.Load(positional[0], torchDevice, DeviceSelector.ResolveDType(dtype, torchDevice));
var classifier = new FineGrainedClassifier(model, options);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var requests = positional.Skip(1).Select(p => new ClassificationRequest(p, question, candidates)).ToList();
try
{
    if (stream)
    {
        foreach (var request in requests)
        {
            Console.WriteLine($"== {request.ImagePath}");
            await foreach (var token in classifier.StreamAsync(request, cts.Token)) Console.Write(token.Text);
            Console.WriteLine();
        }
        return 0;
    }
    await foreach (var r in classifier.ClassifyBatchAsync(requests, cts.Token))
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
    return 0;
}
catch (ClassificationRequestException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
