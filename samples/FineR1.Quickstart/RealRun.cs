using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Inference.Evaluation;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using static TorchSharp.torch;

namespace FineR1.Quickstart;

/// <summary>--model DIR --data DIR: the paper's closed-world evaluation of a real checkpoint on real eval files.</summary>
internal static class RealRun
{
    public static async Task<int> RunAsync(string modelDir, string dataDir, string outDir, CancellationToken ct)
    {
        string evalDir = Path.Combine(dataDir, "eval");
        if (!Directory.Exists(evalDir)) { Console.Error.WriteLine($"error: {evalDir} not found (expected the paper's eval/*.jsonl)."); return 2; }
        var device = cuda.is_available() ? CUDA : CPU;
        var dtype = device.type == TorchSharp.DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
        var (config, tokenizer) = FineR1.Core.Pipeline.FineR1Model.CheckFolder(modelDir, device, dtype);   // before any allocation
        Console.WriteLine($"Loading {modelDir} on {device.type} ({dtype}) ...");
        using var model = new Qwen2_5_VLForConditionalGeneration(config, device, dtype);
        CheckpointLoader.Load(model, modelDir);
        model.eval();
        var processor = new Qwen2VLImageProcessor(Qwen2VLImageProcessorOptions.FineR1Evaluation);
        // The encoder's grid is only used for training examples; prompts get their grid per image below.
        var predictor = new RealPredictor(model, tokenizer, processor);
        Directory.CreateDirectory(outDir);
        var progress = new ConsoleProgress();
        var report = await new EvaluationRunner(predictor).RunAsync(new EvaluationOptions
        {
            Files = Directory.GetFiles(evalDir, "*.jsonl").Order(StringComparer.Ordinal).ToList(), ImageRoot = dataDir,
            Protocol = EvalProtocol.ClosedWorld, ResultsPath = Path.Combine(outDir, "closed.jsonl"), BatchSize = device.type == TorchSharp.DeviceType.CUDA ? 8 : 1,
        }, new SyncProgress<EvaluationProgress>(p => progress.Report(new ExperimentProgress($"eval {p.File}", p.Done, p.Total, $"failed {p.Failed}"))), ct);
        progress.Done();
        await report.WriteAsync(Path.Combine(outDir, "closed-report.json"), Path.Combine(outDir, "closed-report.md"), Path.GetFileName(modelDir.TrimEnd('/')));
        Console.WriteLine(report.ToMarkdown(Path.GetFileName(modelDir.TrimEnd('/'))));
        return 0;
    }
}
