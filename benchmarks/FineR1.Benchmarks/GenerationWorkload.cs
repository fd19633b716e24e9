using FineR1.Core.Imaging;
using System.Diagnostics;
using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// The generation workload of <c>../shared/gpu/hf_baseline.py</c>, so FineR1 and HF transformers are timed on the same
/// thing: the real Qwen2.5-VL-3B/7B shapes with random bf16 weights, one 448×448 image per row (grid 1×32×32 → 1,024
/// patches → 256 image tokens) plus 64 text tokens in the chat layout (330 prompt tokens), 128 new tokens sampled with
/// temperature 1.0 and top-p 0.99 and no stop tokens (HF: <c>min_new_tokens = max_new_tokens = 128</c>).
/// </summary>
public sealed class GenerationWorkload : IDisposable
{
    public const int NewTokens = 128;
    private readonly Qwen2_5_VLForConditionalGeneration _model;

    public Qwen2_5_VLConfig Config { get; }
    public Device Device { get; }

    /// <summary>Decode backend (<c>FINER1_BENCH_BACKEND</c> = auto, reference, static or cudagraph; default auto).</summary>
    public DecodeBackend Backend { get; set; } = Enum.Parse<DecodeBackend>(
        Environment.GetEnvironmentVariable("FINER1_BENCH_BACKEND") is { Length: > 0 } b ? b : "auto", ignoreCase: true);

    public GenerationWorkload(string shape, Device device, ScalarType dtype = ScalarType.BFloat16)
    {
        Config = shape switch
        {
            "3b" => Qwen2_5_VLConfig.Qwen2_5_VL3B,
            "7b" => Qwen2_5_VLConfig.Qwen2_5_VL7B,
            // The 3B widths with 2 decoder layers and 2 vision blocks: a quick CPU check of the benchmark itself.
            "smoke" => Qwen2_5_VLConfig.Qwen2_5_VL3B with
            {
                Text = Qwen2_5_VLConfig.Qwen2_5_VL3B.Text with { NumHiddenLayers = 2 },
                Vision = Qwen2_5_VLConfig.Qwen2_5_VL3B.Vision with { Depth = 2, FullAttentionBlockIndexes = [1] },
            },
            _ => throw new ArgumentException($"unknown shape '{shape}' (3b, 7b or smoke)."),
        };
        Device = device;
        manual_seed(0);
        _model = new Qwen2_5_VLForConditionalGeneration(Config, device, dtype);
        _model.eval();
    }

    private Qwen2_5_VLGenerationModel Generator => new(_model) { Backend = Backend };

    /// <summary>The baseline's prompt: <c>&lt;|im_start|&gt;user\n&lt;|vision_start|&gt;</c> + 256 pads + … + assistant header.</summary>
    public static long[] PromptIds(int textTokens = 64)
    {
        var ids = new List<long> { 151644, 872, 198, 151652 };
        ids.AddRange(Enumerable.Repeat(151655L, 256));
        ids.Add(151653);
        ids.AddRange(Enumerable.Range(1000, textTokens).Select(i => (long)i));
        ids.AddRange([151645, 198, 151644, 77091, 198]);
        return ids.ToArray();
    }

    /// <summary>Generates for <paramref name="batch"/> rows; returns the result (timings inside).</summary>
    public GenerationResult Run(int batch, int newTokens = NewTokens, bool sample = true, Action<GeneratedToken>? onToken = null)
    {
        using var scope = NewDisposeScope();
        var prompts = Enumerable.Range(0, batch).Select(_ =>
            new GenerationPrompt(PromptIds(), [new PromptImage(randn(1024, 1176, dtype: ScalarType.BFloat16, device: Device), new VisionGrid(1, 32, 32))])).ToList();
        using var inputs = GenerationInputs.LeftPad(prompts, 0, Device);
        var options = new GenerationOptions
        {
            MaxNewTokens = newTokens, DoSample = sample, Temperature = 1.0, TopP = 0.99, Seed = 1,
            StopTokenIds = [], PadTokenId = 0,
        };
        var result = SequenceGenerator.Generate(Generator, inputs, options, onToken);
        if (Device.type == DeviceType.CUDA) cuda.synchronize();
        return result;
    }

    /// <summary>Times one run after a short warm-up; new tokens per second over prefill + decode, as the baseline does.</summary>
    public (double Seconds, double TokensPerSecond, GenerationResult Result) Measure(int batch)
    {
        Run(batch, newTokens: 8, sample: false);
        var sw = Stopwatch.StartNew();
        var result = Run(batch);
        double s = sw.Elapsed.TotalSeconds;
        return (s, batch * (double)NewTokens / s, result);
    }

    public void Dispose() => _model.Dispose();
}
