using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Common;
using FineR1.Training.Optimization;
using FineR1.Training.Sft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// One SFT optimizer step (forward + backward over all micro-batches, clip, AdamW) with the SFT trainer's pieces: vision
/// tower and merger frozen (<see cref="SftTrainer.ApplyFreezing"/>), loss on the supervised tokens only
/// (<see cref="LanguageModelLoss"/>), <see cref="GradientClipping.ClipAndStep(IReadOnlyList{Parameter}, Action, double)"/>.
/// Default workload = the HF baseline's training step (/work/shared/gpu/hf_baseline.py): Qwen2.5-VL-3B shape, 8 sequences
/// × 966 tokens (one 448×448 image = 256 image tokens, 700 text tokens), the first 300 labels masked, random weights,
/// bf16 on CUDA. On the CPU it falls back to a tiny shape so it runs anywhere.
/// Tokens/s = 8 × 966 / mean time (also printed at cleanup).
/// Environment knobs: <c>FINER1_SFT_BENCH_MODEL</c> (3b | 7b), <c>FINER1_SFT_BENCH_BATCH</c> (8),
/// <c>FINER1_SFT_BENCH_TEXT_TOKENS</c> (700), <c>FINER1_SFT_BENCH_CHECKPOINTING</c> (decoder-layer gradient
/// checkpointing, default on as in the HF baseline; 0 = off), <c>FINER1_SFT_BENCH_MICRO</c> (sequences per forward;
/// default the whole batch, 2 when checkpointing is off: 8 × 966 activations of the 3B model do not fit 80 GB),
/// <c>FINER1_SFT_BENCH_TRAIN_VISION</c> (1 = train the vision tower and merger as the HF baseline does; default frozen),
/// <c>FINER1_SFT_BENCH_OPTIMIZER</c> (anyprecision = fp32 moments + Kahan on bf16 weights, the trainer's bf16 path;
/// adamw = TorchSharp AdamW with bf16 states, the HF baseline's optimizer).
/// Run: <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*SftStepBenchmarks*'</c>.
/// </summary>
[HeavyJob]
public class SftStepBenchmarks
{
    private Qwen2_5_VLForConditionalGeneration? _model;
    private List<Parameter> _parameters = [];
    private Action _step = () => { };
    private IDisposable? _optimizerResource;
    private Tensor? _ids, _labels, _positions, _pixels, _grids;
    private int _micro;
    private long _supervised;
    private Device _device = CPU;
    private readonly List<double> _seconds = [];

    /// <summary>Tokens per step (batch × sequence length).</summary>
    public long TokensPerStep => _ids?.NumberOfElements ?? 0;

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    [GlobalSetup]
    public void Setup()
    {
        FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();
        bool gpu = cuda.is_available();
        _device = gpu ? CUDA : CPU;
        var dtype = gpu ? ScalarType.BFloat16 : ScalarType.Float32;
        var config = !gpu ? TinyConfig
            : Environment.GetEnvironmentVariable("FINER1_SFT_BENCH_MODEL") == "7b" ? Qwen2_5_VLConfig.Qwen2_5_VL7B : Qwen2_5_VLConfig.Qwen2_5_VL3B;
        int batch = Env("FINER1_SFT_BENCH_BATCH", gpu ? 8 : 2);
        int text = Env("FINER1_SFT_BENCH_TEXT_TOKENS", gpu ? 700 : 64);
        int side = gpu ? 32 : 8;                                   // patch grid of one image: 448×448 (GPU), 112×112 (CPU)
        bool checkpointing = Environment.GetEnvironmentVariable("FINER1_SFT_BENCH_CHECKPOINTING") != "0";
        _micro = Math.Min(batch, Env("FINER1_SFT_BENCH_MICRO", checkpointing || !gpu ? batch : 2));

        torch.manual_seed(0);
        _model = new Qwen2_5_VLForConditionalGeneration(config, _device, dtype);
        _model.train();
        // FINER1_SFT_BENCH_TRAIN_VISION=1 trains the vision tower and merger too (as the HF baseline's step does);
        // default: frozen, Fine-R1's SFT setting (docs/method.md §4.3).
        bool trainVision = Environment.GetEnvironmentVariable("FINER1_SFT_BENCH_TRAIN_VISION") == "1";
        if (checkpointing) _model.EnableGradientCheckpointing(includeVision: trainVision);
        var trainable = SftTrainer.ApplyFreezing(_model, new SftOptions
        {
            TrainVisionTower = trainVision, TrainMultiModalProjector = trainVision,
        });
        _parameters = trainable.Select(t => t.Parameter).ToList();
        bool torchAdamW = Environment.GetEnvironmentVariable("FINER1_SFT_BENCH_OPTIMIZER") == "adamw" || !gpu;
        if (torchAdamW)
        {
            var adamw = optim.AdamW(_parameters, 5e-6, 0.9, 0.999, 1e-8, 0.1);
            _step = () => adamw.step();
            _optimizerResource = adamw;
        }
        else
        {
            var apw = new AnyPrecisionAdamW(_parameters, new AdamWSettings(5e-6, 0.1), ScalarType.Float32, kahanSummation: true);
            _step = apw.Step;
            _optimizerResource = apw;
        }

        // The HF baseline's sequence: <|im_start|>user\n <|vision_start|> image pads <|vision_end|> text <|im_end|>\n<|im_start|>assistant\n
        int imageTokens = side * side / 4;
        var row = new List<long> { 151644, 872, 198, config.VisionStartTokenId };
        row.AddRange(Enumerable.Repeat((long)config.ImageTokenId, imageTokens));
        row.Add(config.VisionEndTokenId);
        row.AddRange(Enumerable.Range(gpu ? 1000 : 100, text).Select(i => (long)i));
        row.AddRange([151645, 198, 151644, 77091, 198]);
        if (!gpu) row = row.Select(id => id % config.Text.VocabSize).ToList();   // tiny vocabulary on the CPU (no clash with 1000–1003)
        var ids = tensor(Enumerable.Repeat(row, batch).SelectMany(r => r).ToArray(), [batch, row.Count], ScalarType.Int64);
        var labels = ids.clone();
        labels.narrow(1, 0, Math.Min(300, row.Count - 1)).fill_(LanguageModelLoss.IgnoreIndex);
        _grids = tensor(Enumerable.Repeat(new long[] { 1, side, side }, batch).SelectMany(g => g).ToArray(), [batch, 3], ScalarType.Int64);
        _positions = RopeIndex.GetRopeIndex(config, ids, _grids).PositionIds.to(_device).DetachFromDisposeScope();
        _pixels = randn(batch * side * side, config.Vision.PatchInputSize, dtype: dtype, device: _device);
        _supervised = labels.narrow(1, 1, row.Count - 1).ne(LanguageModelLoss.IgnoreIndex).sum().item<long>();
        _ids = ids.to(_device);
        _labels = labels.to(_device);
    }

    private static Qwen2_5_VLConfig TinyConfig { get; } = new()
    {
        Text = new Qwen2_5_VLTextConfig
        {
            VocabSize = 1024, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, MropeSection = [2, 3, 3], TieWordEmbeddings = true,
        },
        Vision = new Qwen2_5_VLVisionConfig
        {
            Depth = 2, HiddenSize = 64, IntermediateSize = 96, NumHeads = 4, WindowSize = 56, FullAttentionBlockIndexes = [1], OutHiddenSize = 64,
        },
        ImageTokenId = 1000, VideoTokenId = 1001, VisionStartTokenId = 1002, VisionEndTokenId = 1003,
    };

    /// <summary>One optimizer step; returns the loss.</summary>
    [Benchmark]
    public double SftStep()
    {
        var watch = Stopwatch.StartNew();
        double loss = 0;
        int batch = (int)_ids!.shape[0];
        long patchesPerRow = _pixels!.shape[0] / batch;
        for (int start = 0; start < batch; start += _micro)
        {
            using var scope = NewDisposeScope();
            int rows = Math.Min(_micro, batch - start);
            var output = _model!.forward(
                inputIds: _ids.narrow(0, start, rows),
                positionIds: _positions!.narrow(1, start, rows),
                pixelValues: _pixels.narrow(0, start * patchesPerRow, rows * patchesPerRow),
                imageGridThw: _grids!.narrow(0, start, rows));
            var microLoss = LanguageModelLoss.Compute(output.Logits, _labels!.narrow(0, start, rows), _supervised);
            microLoss.backward();
            loss += microLoss.detach().cpu().to_type(ScalarType.Float64).item<double>();
        }
        using (NewDisposeScope()) GradientClipping.ClipAndStep(_parameters, _step, 1.0);
        if (_device.type == DeviceType.CUDA) cuda.synchronize();
        _seconds.Add(watch.Elapsed.TotalSeconds);
        return loss;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_seconds.Count > 1)
        {
            double mean = _seconds.Skip(1).Average();
            Console.WriteLine($"// SFT step: {TokensPerStep} tokens ({_ids!.shape[0]} × {_ids.shape[1]}, micro-batch {_micro}) on {_device.type}: " +
                $"{mean:F3} s/step, {TokensPerStep / mean:F0} tokens/s");
        }
        _optimizerResource?.Dispose();
        _model?.Dispose();
        foreach (var t in new[] { _ids, _labels, _positions, _pixels, _grids }) t?.Dispose();
    }
}
