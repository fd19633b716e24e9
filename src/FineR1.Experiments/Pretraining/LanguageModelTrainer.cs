using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Training.Checkpointing;
using FineR1.Training.Engine;
using FineR1.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// A small causal-LM trainer for <see cref="Qwen2_5_VLForConditionalGeneration"/>: right-padded batches of
/// <see cref="LmExample"/>s (images through the model's own vision tower), cross-entropy on the supervised tokens only
/// (the LM head runs on those positions alone), one optimizer step per batch through the shared
/// <see cref="TrainingEngine"/>: AdamW (the tied embedding once) with a cosine schedule and warmup, gradient clipping.
/// </summary>
public sealed class LanguageModelTrainer : IDisposable
{
    private readonly Qwen2_5_VLForConditionalGeneration _model;
    private readonly Qwen2VLImageProcessor _processor;
    private readonly Dictionary<string, (Tensor Pixels, VisionGrid Grid)> _images = new(StringComparer.Ordinal);

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model (trained in place, on its device).</param>
    /// <param name="processor">Image processor for the examples' images (decoded once, then cached).</param>
    /// <param name="options">Settings.</param>
    public LanguageModelTrainer(Qwen2_5_VLForConditionalGeneration model, Qwen2VLImageProcessor processor, LmTrainingOptions options)
    {
        options.Validate();
        _model = model;
        _processor = processor;
        Options = options;
    }

    /// <summary>The settings.</summary>
    public LmTrainingOptions Options { get; }

    /// <summary>Number of optimizer steps <see cref="Train"/> will take for <paramref name="examples"/> examples.</summary>
    public int StepsFor(int examples) => Options.Epochs * (int)Math.Ceiling(examples / (double)Options.BatchSize);

    /// <summary>Trains on <paramref name="examples"/> (shuffled per epoch with <see cref="LmTrainingOptions.Seed"/>).</summary>
    /// <returns>Every step's loss and learning rate.</returns>
    public IReadOnlyList<LmTrainingStep> Train(IReadOnlyList<LmExample> examples, IProgress<LmTrainingStep>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (examples.Count == 0) throw new ArgumentException("no training examples.", nameof(examples));
        var device = _model.lm_head.weight!.device;
        int total = StepsFor(examples.Count), warmup = (int)(Options.WarmupRatio * total), step = 0;
        using var engine = new TrainingEngine(_model, _model.UniqueParameters().Where(t => t.Parameter.requires_grad), new TrainingEngineOptions
        {
            TrainerName = "lm",
            AdamW = new AdamWSettings(Options.LearningRate, Options.WeightDecay, ExcludeNormsAndBiasesFromDecay: true),
            OptimizerStates = OptimizerStatePrecision.WeightDType,
            MaxGradNorm = Options.MaxGradNorm,
            LearningRateSchedule = s => Options.LearningRate * LearningRateSchedules.CosineWithWarmup(s, warmup, total),
        });
        engine.Start(new TrainerState { Trainer = "lm", TotalSteps = total, Seed = Options.Seed, DatasetSize = examples.Count });
        var rng = new Random(Options.Seed);
        var history = new List<LmTrainingStep>(total);
        _model.train();
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            var order = Enumerable.Range(0, examples.Count).ToArray();
            rng.Shuffle(order);
            for (int start = 0; start < order.Length; start += Options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                engine.SchedulerStep = step;
                double lr = engine.LearningRate;
                var batch = order.Skip(start).Take(Options.BatchSize).Select(i => examples[i]).ToList();
                float loss = 0;
                engine.Backward(() =>
                {
                    var batchLoss = Loss(batch, device);
                    loss = batchLoss.item<float>();
                    return batchLoss;
                });
                var result = engine.Step();
                step++;
                var record = new LmTrainingStep(step, total, loss, lr, result.GradNorm);
                history.Add(record);
                progress?.Report(record);
            }
        }
        _model.eval();
        return history;
    }

    /// <summary>Mean cross-entropy of a batch over its supervised (shifted) tokens; float32 scalar with a graph.</summary>
    public Tensor Loss(IReadOnlyList<LmExample> batch, Device device)
    {
        int length = batch.Max(e => Math.Min(e.InputIds.Length, Options.MaxLength));
        int rows = batch.Count;
        var ids = new long[rows * length];
        var labels = new long[rows * length];
        var mask = new long[rows * length];
        Array.Fill(labels, LanguageModelLoss.IgnoreIndex);
        var pixels = new List<Tensor>();
        var grids = new List<VisionGrid>();
        for (int r = 0; r < rows; r++)
        {
            var e = batch[r];
            int n = Math.Min(e.InputIds.Length, Options.MaxLength);
            for (int i = 0; i < n; i++)
            {
                ids[r * length + i] = e.InputIds[i];
                labels[r * length + i] = e.Labels[i];
                mask[r * length + i] = 1;
            }
            if (e.ImagePath is not null)
            {
                var (px, grid) = Image(e.ImagePath);
                pixels.Add(px);
                grids.Add(grid);
            }
        }
        using var scope = NewDisposeScope();
        var inputIds = tensor(ids, [rows, length]).to(device);
        var attention = tensor(mask, [rows, length]).to(device);
        var target = tensor(labels, [rows, length]).to(device);
        Tensor? pixelValues = pixels.Count > 0 ? cat(pixels, 0).to(device) : null;
        Tensor? gridThw = pixels.Count > 0 ? VisionGrid.ToTensor(grids).to(device) : null;
        var hidden = _model.model.forward(inputIds: inputIds, attentionMask: attention, pixelValues: pixelValues,
            imageGridThw: gridThw).LastHiddenState;                                   // [B, T, H]
        var h = hidden[.., ..^1, ..].reshape(-1, hidden.shape[2]);                     // [B·(T−1), H]
        var y = target[.., 1..].reshape(-1);                                           // [B·(T−1)]
        var keep = y.ne(LanguageModelLoss.IgnoreIndex).nonzero().squeeze(1);          // supervised positions
        var hk = h.index_select(0, keep);                                               // [N, H]
        var yk = y.index_select(0, keep);                                               // [N]
        var loss = nn.functional.cross_entropy(_model.lm_head.forward(hk).to_type(ScalarType.Float32), yk);   // logits [N, V]
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Frees the cached image tensors.</summary>
    public void Dispose()
    {
        foreach (var (px, _) in _images.Values) px.Dispose();
        _images.Clear();
    }

    private (Tensor Pixels, VisionGrid Grid) Image(string path)
    {
        if (_images.TryGetValue(path, out var cached)) return cached;
        using var processed = _processor.Process(path);
        var entry = (processed.PixelValues.detach().clone().DetachFromDisposeScope(), processed.Grids[0]);
        _images[path] = entry;
        return entry;
    }
}
