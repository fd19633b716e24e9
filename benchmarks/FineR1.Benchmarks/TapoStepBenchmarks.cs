using FineR1.Core.Processing;
using BenchmarkDotNet.Attributes;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// One TAPO RL step (rollout → no-grad old/negative log-probs → update): 8 prompts × 2 images × 5 rollouts = 80 rows of
/// up to 256 new tokens, micro-batch 4, log-prob micro-batch 16, one optimizer step. <c>3b</c>: the real Qwen2.5-VL-3B
/// shape with random bf16 weights on CUDA, 448×448 images (256 image tokens); <c>tiny</c>: the tiny-a sizes with the
/// real vocabulary on the CPU, 56×56 images, 16 new tokens. Random weights never emit a stop token and score 0, so every
/// row runs to the limit and dynamic sampling keeps the single draw (docs/method.md §5.3 quirk). The per-phase seconds of the last
/// step are printed after the run (<c>TAPO phases: …</c>). The tokenizer is tests/Fixtures/tokenizer (found by walking up
/// from the binary) or <c>FINER1_TOKENIZER</c>.
/// </summary>
[MemoryDiagnoser(false)]
[HeavyJob]
public class TapoStepBenchmarks
{
    private global::FineR1.Training.Tapo.Trainer.TapoTrainer? _trainer;
    private TapoStepMetrics? _last;

    [Params("tiny", "3b")]
    public string Shape { get; set; } = "tiny";

    [GlobalSetup]
    public void Setup()
    {
        bool gpu = Shape == "3b";
        if (gpu && !cuda.is_available()) throw new InvalidOperationException("the 3b shape needs CUDA.");
        var device = gpu ? CUDA : CPU;
        var config = gpu ? Qwen2_5_VLConfig.Qwen2_5_VL3B : TinyConfig();
        manual_seed(0);
        var model = new Qwen2_5_VLForConditionalGeneration(config, device, gpu ? ScalarType.BFloat16 : ScalarType.Float32);
        var tokenizer = QwenTokenizer.Load(TokenizerPath(), QwenTokenizerOptions.Qwen2_5_VL);
        int size = gpu ? 448 : 56;
        // GPU: the reference's RL pre-scaling (448² = 200,704 px, the lower limit) and the checkpoint's processor.
        Qwen2VLImageProcessor? processor = gpu ? null : new(new Qwen2VLImageProcessorOptions { MinPixels = 56 * 56, MaxPixels = 56 * 56 });
        var samples = Enumerable.Range(0, 8).Select(i => TapoSample.Create("<image> Based on this image, what species of bird is shown?",
            "Varen Tanager", Image(i, size), Image(100 + i, size), Image(200 + i, size), $"b{i}")).ToList();
        var o = TapoOptions.FineR1_3B();
        o.Rollout.PromptsPerDraw = 8;
        o.Rollout.RolloutBatchSize = 8;
        o.Rollout.MaxResponseLength = gpu ? 256 : 16;
        o.Optimization.GlobalBatchSize = 8;
        // Memory knobs for one 80 GB GPU: FINER1_TAPO_BENCH_MICRO (update micro-batch, default 4 as the reference),
        // FINER1_TAPO_BENCH_FREEZE_VISION=1 (train the language model only).
        if (int.TryParse(Environment.GetEnvironmentVariable("FINER1_TAPO_BENCH_MICRO"), out var micro) && micro > 0)
            o.Optimization.MicroBatchSize = micro;
        if (Environment.GetEnvironmentVariable("FINER1_TAPO_BENCH_FREEZE_VISION") == "1") o.Optimization.FreezeVisionTower = true;
        _trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(model, processor is null ? new TapoPromptEncoder(tokenizer) : new TapoPromptEncoder(new Qwen2_5_VLProcessor(tokenizer, processor)), samples, o);
    }

    [Benchmark]
    public TapoStepMetrics Step() => _last = _trainer!.Step();

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_last is { } m)
            Console.WriteLine($"TAPO phases ({Shape}): rollout {m.RolloutSeconds:F2} s, log-prob {m.LogProbSeconds:F2} s, update {m.UpdateSeconds:F2} s; " +
                              $"{m.BatchRows} rows, mean response {m.ResponseLengthMean:F0} tokens");
    }

    private static Qwen2_5_VLConfig TinyConfig() => Qwen2_5_VLConfig.Qwen2_5_VL3B with
    {
        Text = Qwen2_5_VLConfig.Qwen2_5_VL3B.Text with
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MropeSection = [2, 3, 3],
        },
        Vision = Qwen2_5_VLConfig.Qwen2_5_VL3B.Vision with
        {
            Depth = 2, HiddenSize = 64, IntermediateSize = 96, NumHeads = 4, OutHiddenSize = 64, FullAttentionBlockIndexes = [1], WindowSize = 56,
        },
    };

    private static RgbImage Image(int seed, int size)
    {
        var px = new byte[size * size * 3];
        new Random(seed).NextBytes(px);
        return new RgbImage(size, size, px);
    }

    internal static string TokenizerPath()
    {
        var env = Environment.GetEnvironmentVariable("FINER1_TOKENIZER");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Fixtures", "tokenizer", "qwen-tokenizer.json.gz");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tokenizer not found: set FINER1_TOKENIZER to qwen-tokenizer.json(.gz).");
    }
}
