// FineR1.Evaluate: the paper's benchmark (docs/method.md §6) over a dataset root and eval jsonl files; JSON + Markdown reports.
using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using FineR1.Inference.Siglip;

const string Usage = """
    Usage: FineR1.Evaluate <model-folder> --images <dataset-root> --out <folder> <eval.jsonl>... [options]

      --images DIR         folder the records' image_path values are relative to
      --out DIR            writes results.jsonl, report.json, report.md there
      --open               open-world protocol (default: closed world)
      --siglip DIR         SigLIP text tower (google/siglip-base-patch16-256) for the open-world similarity
      --resume             keep results.jsonl of an earlier run and skip records already predicted
      --batch-size N       prompts per generation batch (default 2, as the reference)
      --max-new-tokens N   default 2048
      --device SPEC        auto (default), cpu, cuda, cuda:N
      --dtype SPEC         auto (default), float32, bfloat16, float16
      --constrain          answer only with a listed option (not the reference protocol)
      --help               this text
    """;

var files = new List<string>();
string? model = null, images = null, output = null, siglip = null;
string device = "auto", dtype = "auto";
bool open = false, resume = false;
var options = new ClassifierOptions();
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return 0;
            case "--images": images = Next(); break;
            case "--out": output = Next(); break;
            case "--open": open = true; break;
            case "--siglip": siglip = Next(); break;
            case "--resume": resume = true; break;
            case "--batch-size": options.BatchSize = int.Parse(Next()); break;
            case "--max-new-tokens": options.MaxNewTokens = int.Parse(Next()); break;
            case "--device": device = Next(); break;
            case "--dtype": dtype = Next(); break;
            case "--constrain": options.ConstrainToCandidates = true; break;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unknown option {args[i]}.");
                if (model is null) model = args[i]; else files.Add(args[i]);
                break;
        }
    }
    if (model is null || images is null || output is null || files.Count == 0)
        throw new ArgumentException("a model folder, --images, --out and at least one eval file are needed.");
    if (!DeviceSelector.IsValidSpec(device)) throw new ArgumentException($"--device '{device}' is not auto, cpu, cuda or cuda:N.");
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"error: {e.Message}\n\n{Usage}");
    return 2;
}

Directory.CreateDirectory(output);
var results = Path.Combine(output, "results.jsonl");
if (!resume && File.Exists(results)) File.Delete(results);
var torchDevice = DeviceSelector.Resolve(device);
Console.Error.WriteLine($"loading {model} on {torchDevice} …");
using var bundle = FineR1Model.Load(model, torchDevice, DeviceSelector.ResolveDType(dtype, torchDevice));
using var embedder = siglip is null ? null : SiglipTextEmbedder.Load(siglip);
var runner = new EvaluationRunner(new FineGrainedClassifier(bundle, options), embedder);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var report = await runner.RunAsync(new EvaluationOptions
{
    Files = files, ImageRoot = images, ResultsPath = results, BatchSize = options.BatchSize,
    Protocol = open ? EvalProtocol.OpenWorld : EvalProtocol.ClosedWorld,
}, new Progress<EvaluationProgress>(p => Console.Error.WriteLine($"{p.File}: {p.Done}/{p.Total} (failed {p.Failed}, resumed {p.Resumed})")), cts.Token);
await report.WriteAsync(Path.Combine(output, "report.json"), Path.Combine(output, "report.md"), modelName: Path.GetFileName(Path.TrimEndingDirectorySeparator(model)));
Console.WriteLine(report.ToMarkdown(Path.GetFileName(Path.TrimEndingDirectorySeparator(model))));
return 0;
