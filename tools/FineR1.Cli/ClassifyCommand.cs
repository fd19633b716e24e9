using System.CommandLine;
using FineR1.Core.Imaging;
using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using Spectre.Console;

namespace FineR1.Cli;

/// <summary><c>finer1 classify MODEL IMAGE... [--candidates a,b,c]</c>: answers with their reasoning.</summary>
public static class ClassifyCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "Hugging Face model folder (config.json, safetensors, tokenizer.json)." };
        var images = new Argument<string[]>("images") { Description = "Image files.", Arity = ArgumentArity.OneOrMore };
        var candidates = new Option<string?>("--candidates", "-c") { Description = "Closed world: the options, comma-separated (default: open world)." };
        var question = new Option<string?>("--question", "-q") { Description = "The question (default: a generic fine-grained question)." };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Longest answer in tokens.", DefaultValueFactory = _ => 2048 };
        var constrain = new Option<bool>("--constrain") { Description = "Closed world: force the answer to one of the candidates." };
        var confidences = new Option<bool>("--confidences") { Description = "Closed world: a confidence per candidate." };
        var stream = new Option<bool>("--stream") { Description = "Print the text as it is generated (one image at a time)." };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per generation batch.", DefaultValueFactory = _ => 1 };
        var device = CliOptions.Device();
        var dtype = CliOptions.DType();
        var command = new Command("classify", "Classify images with a Fine-R1 / Qwen2.5-VL model (closed world with --candidates, else open world).")
        {
            model, images, candidates, question, maxNewTokens, constrain, confidences, stream, batchSize, device, dtype,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var options = new ClassifierOptions
            {
                MaxNewTokens = parse.GetValue(maxNewTokens), ConstrainToCandidates = parse.GetValue(constrain),
                ComputeConfidences = parse.GetValue(confidences), BatchSize = parse.GetValue(batchSize),
            };
            var list = parse.GetValue(candidates)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (list is { Length: 0 }) throw new UsageException("--candidates needs at least one candidate.");
            if ((options.ConstrainToCandidates || options.ComputeConfidences) && list is null)
                throw new UsageException("--constrain and --confidences need --candidates.");
            var files = parse.GetValue(images)!;
            foreach (var f in files) if (!File.Exists(f)) throw new FileNotFoundException($"image not found: {f}", f);
            var requests = files.Select(f => new ClassificationRequest(f, parse.GetValue(question), list)).ToList();

            // Every input is checked before the (slow) model load: images (header only), requests, then the model folder.
            foreach (var request in requests)
            {
                ImageDecoder.ReadSize(request.ImagePath!);   // built from a file path above
                FineGrainedClassifier.Validate(request);
            }
            var modelDir = CliArgs.ExistingFolder("model folder", parse.GetValue(model)!);
            var torchDevice = DeviceSelector.Resolve(parse.GetValue(device)!);
            var (config, tokenizer) = FineR1Model.CheckFolder(modelDir, torchDevice, DeviceSelector.ResolveDType(parse.GetValue(dtype)!, torchDevice));
            foreach (var request in requests) FineGrainedClassifier.Validate(request, options, tokenizer, config);

            using var loggers = CliOptions.Loggers(parse.GetValue(CliOptions.Verbose));
            using var bundle = await CliProgress.LoadModelAsync(modelDir, parse.GetValue(device)!, parse.GetValue(dtype)!, loggers, ct);
            var classifier = new FineGrainedClassifier(bundle, options, loggers.CreateLogger("FineR1"));
            if (parse.GetValue(stream))
            {
                foreach (var r in requests)
                {
                    Console.WriteLine($"== {r.ImagePath}");
                    await foreach (var token in classifier.StreamAsync(r, ct)) Console.Write(token.Text);
                    Console.WriteLine();
                }
                return CliErrors.Ok;
            }
            await foreach (var result in classifier.ClassifyBatchAsync(requests, ct)) Print(result);
            return CliErrors.Ok;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }

    private static void Print(ClassificationResult r)
    {
        Console.WriteLine($"== {r.Request.ImagePath}");
        Console.WriteLine($"answer: {r.Answer}");
        if (r.Reasoning.VisualAnalysis is { } a) Console.WriteLine($"visual analysis: {a}");
        if (r.Reasoning.Candidates is { } c) Console.WriteLine($"candidates: {c}");
        if (r.Reasoning.Comparison is { } cmp) Console.WriteLine($"comparison: {cmp}");
        if (r.Reasoning.VisualAnalysis is null && r.Reasoning.Comparison is null) Console.WriteLine($"reasoning: {r.Reasoning.Think}");
        if (r.Candidates is { } scores)
        {
            var table = new Table().AddColumn("candidate").AddColumn("confidence");
            foreach (var s in scores) table.AddRow(Markup.Escape(s.Name), $"{s.Confidence:P1}");
            AnsiConsole.Write(table);
        }
        Console.WriteLine($"({r.TokenIds.Count} tokens, {r.FinishReason}, {r.Timings.Total.TotalSeconds:F1} s)");
    }
}
