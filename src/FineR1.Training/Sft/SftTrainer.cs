using FineR1.Core.Checkpoints;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Processing;
using FineR1.Core.Modeling.Common;
using FineR1.Core.Modeling.Lora;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Checkpointing;
using FineR1.Training.Data;
using FineR1.Training.Distributed;
using FineR1.Training.Engine;
using FineR1.Training.Optimization;
using FineR1.Training.Progress;
using FineR1.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Sft;

/// <summary>
/// Stage-1 chain-of-thought supervised fine-tuning of Qwen2.5-VL (docs/method.md §4): next-token cross-entropy on the assistant
/// targets only, averaged per micro-batch and then over the step's micro-batches (LLaMA-Factory for multimodal models;
/// <see cref="SftOptions.LossNormalization"/>); AdamW (β 0.9/0.999, ε 1e-8, weight decay
/// 0.1 except biases and norms), cosine schedule with linear warm-up, gradient accumulation, clipping to 1.0 with
/// non-finite steps skipped; the vision tower and merger frozen by default. Checkpoints are HF model folders plus
/// optimizer and trainer state, and a run resumes from the newest one exactly (same losses as an uninterrupted run).
/// </summary>
/// <example><code>
/// var model = new Qwen2_5_VLForConditionalGeneration(config, torch.CUDA, ScalarType.BFloat16);
/// CheckpointLoader.Load(model, "/models/Qwen2.5-VL-3B-Instruct");
/// var trainer = new SftTrainer(model, tokenizer, new SftOptions { Checkpointing = { OutputDir = "runs/sft", BaseModelFolder = "/models/Qwen2.5-VL-3B-Instruct" } });
/// var records = ShareGptDataset.Load("stage1-cot-sft.json", imageRoot: "/data/fgvr");
/// var result = trainer.Train(trainer.Prepare(records, "stage1-cot-sft.json"), progress);
/// </code></example>
public sealed class SftTrainer
{
    /// <summary>Value of <see cref="TrainerState.Trainer"/> in SFT checkpoints.</summary>
    public const string TrainerName = "sft";

    private readonly IVisionLanguageModel _model;
    private readonly QwenTokenizer _tokenizer;
    private readonly Qwen2_5_VLProcessor _processor;
    private readonly ILogger _logger;

    /// <summary>The options in use (validated).</summary>
    public SftOptions Options { get; }

    /// <summary>Creates a trainer for <paramref name="model"/> (already on its device and in its training dtype:
    /// bf16 on CUDA, float32 on the CPU); any family behind <see cref="IVisionLanguageModel"/>.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">Invalid options (all problems listed).</exception>
    public SftTrainer(IVisionLanguageModel model, QwenTokenizer tokenizer, SftOptions options, ILogger? logger = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        TrainingOptionsValidation.ThrowIfInvalid(new SftOptionsValidator(), options);
        _logger = logger ?? NullLogger.Instance;
        PadTokenId = tokenizer.EndOfTextId;
        // With pre-scaling the SFT budget is applied before the processor, which keeps its checkpoint limits (as
        // LLaMA-Factory); without it the budget goes to the processor's smart_resize.
        // The family's image settings (patch geometry, normalisation) with SFT's pixel limits on top.
        var defaults = model.ImageProcessorOptions;
        PreScaling = options.PreScaleImages ? new ImagePreScaling(options.ImageMinPixels, options.ImageMaxPixels, QwenSideRules: true) : null;
        _processor = new Qwen2_5_VLProcessor(tokenizer, defaults with
        {
            MaxPixels = options.PreScaleImages ? defaults.MaxPixels : options.ImageMaxPixels,
            MinPixels = options.PreScaleImages ? defaults.MinPixels : options.ImageMinPixels,
            ApplyExifOrientation = options.ApplyExifOrientation,
        }, PreScaling);
    }

    /// <summary>Token id written into padding (default Qwen's <c>&lt;|endoftext|&gt;</c>, its <c>pad_token</c>); padding is
    /// masked from attention and loss, so the value only has to be a valid id.</summary>
    public int PadTokenId { get; init; }

    /// <summary>
    /// Data-parallel training (null: one process). With a synchronizer over W ranks a step takes
    /// <c>MicroBatchSize × GradientAccumulationSteps × W</c> examples, cut into micro-batches as one process would and dealt
    /// round-robin to the ranks (<see cref="DataParallelSharding.MicroBatchesOfRank"/>); each rank's loss is normalised over the
    /// whole global step (its supervised tokens or its micro-batches, per <see cref="SftOptions.LossNormalization"/>), the synchronizer sums the gradients between backward and clipping, and every
    /// rank steps its replica of the optimizer. The step equals the single-process step with
    /// <c>GradientAccumulationSteps × W</c>. Rank 0 writes checkpoints and metrics; all ranks resume from them. With
    /// <see cref="SftOptions.DataParallel"/> set to <see cref="ZeroStage.Two"/> the optimizer is ZeRO-2 (sharded over the
    /// synchronizer's ranks, which then only lends its communicator; see docs/distributed.md).
    /// </summary>
    public IGradientSynchronizer? GradientSynchronizer { get; init; }

    /// <summary>The image processor (SFT pixel limits when <see cref="SftOptions.PreScaleImages"/> is off).</summary>
    public Qwen2VLImageProcessor ImageProcessor => _processor.ImageProcessor;

    /// <summary>The pixel-budget resize applied before the processor (null when <see cref="SftOptions.PreScaleImages"/> is off).</summary>
    public ImagePreScaling? PreScaling { get; }

    /// <summary>Tokenizes the records (and plans their images) with the configured length policy.</summary>
    /// <exception cref="DatasetException">A record cannot be used; the message names its index.</exception>
    public IReadOnlyList<SftExample> Prepare(IReadOnlyList<SftRecord> records, string? source = null) =>
        new SftEncoder(_processor, Options.MaxLength, Options.Overlong, _logger).EncodeAll(records, source);

    /// <summary>
    /// Sets <c>requires_grad</c> by component (<see cref="SftOptions.TrainVisionTower"/>,
    /// <see cref="SftOptions.TrainMultiModalProjector"/>, <see cref="SftOptions.TrainLanguageModel"/>;
    /// <see cref="IVisionLanguageModel.PartOf"/> tells the component) and returns the trainable parameters, each tensor
    /// once (a tied output head is the embedding).
    /// </summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> ApplyFreezing(IVisionLanguageModel model, SftOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool Train(string name) => model.PartOf(name) switch
        {
            ModelPart.Projector => options.TrainMultiModalProjector,
            ModelPart.VisionTower => options.TrainVisionTower,
            _ => options.TrainLanguageModel,
        };
        // Every name, so a tied head listed under its own name too (lm_head.weight) is set as well.
        foreach (var (name, p) in model.Module.named_parameters()) p.requires_grad = Train(name);
        return model.UniqueParameters().Where(t => Train(t.Name)).ToList();
    }

    /// <summary>Encodes <paramref name="records"/> and trains on them.</summary>
    public SftRunResult Train(IReadOnlyList<SftRecord> records, IProgress<SftProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Train(Prepare(records), progress, cancellationToken);

    /// <summary>
    /// Runs (or resumes, see <see cref="CheckpointingOptions.ResumeFromLatest"/>) training over <paramref name="examples"/>.
    /// Cancellation is honoured between optimizer steps: a checkpoint is written (<see cref="CheckpointingOptions.SaveOnCancel"/>)
    /// and the result says <c>Completed = false</c>. Without <see cref="CheckpointingOptions.OutputDir"/> nothing is
    /// written (the trained weights stay in the model).
    /// </summary>
    /// <exception cref="TrainingCheckpointException">The checkpoint to resume from belongs to another run (trainer,
    /// dataset size, schedule or seed differ) or is incomplete.</exception>
    public SftRunResult Train(IReadOnlyList<SftExample> examples, IProgress<SftProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no examples to train on.", nameof(examples));
        var o = Options;
        bool bf16 = o.Precision switch
        {
            SftPrecision.BFloat16 => true,
            SftPrecision.Float32 => false,
            _ => _model.DType == ScalarType.BFloat16,
        };
        var dtype = _model.DType;
        if (bf16 != (dtype == ScalarType.BFloat16))
            throw new InvalidOperationException($"Precision {o.Precision} needs the model in {(bf16 ? "bfloat16" : "float32")}, but it is {dtype}.");
        if (o.Lora.Enabled && !_model.Module.LoraLayers().Any())
            _model.Module.ApplyLora(new LoraOptions { Rank = o.Lora.Rank, Alpha = o.Lora.Alpha, Dropout = o.Lora.Dropout, TargetModules = o.Lora.TargetModules });
        if (o.GradientCheckpointing) _model.EnableGradientCheckpointing(includeVision: o.TrainVisionTower);
        else _model.DisableGradientCheckpointing();

        var trainable = o.Lora.Enabled ? _model.Module.LoraParameters().ToList() : ApplyFreezing(_model, o);
        int world = GradientSynchronizer?.Communicator.WorldSize ?? 1;
        int stepsPerEpoch = SftDataOrder.StepsPerEpoch(examples.Count, o.MicroBatchSize, o.GradientAccumulationSteps * world);
        long totalSteps = (long)stepsPerEpoch * o.Epochs;
        int examplesPerStep = o.MicroBatchSize * o.GradientAccumulationSteps * world;
        using var engine = new TrainingEngine(_model, trainable, new TrainingEngineOptions
        {
            TrainerName = TrainerName,
            AdamW = new AdamWSettings(o.LearningRate, o.WeightDecay, o.Beta1, o.Beta2, o.AdamEpsilon, ExcludeNormsAndBiasesFromDecay: true),
            OptimizerStates = o.OptimizerStates,
            MaxGradNorm = o.MaxGradNorm,
            LearningRateSchedule = step => o.LearningRate * LearningRateSchedules.CosineWithWarmup(step, o.WarmupSteps, (int)totalSteps),
            Checkpointing = o.Checkpointing,
            ZeroStage = o.DataParallel.ZeroStage,
        }, GradientSynchronizer, _logger);

        var state = new TrainerState { Trainer = TrainerName, TotalSteps = totalSteps, Seed = o.Seed, DatasetSize = examples.Count };
        if (engine.Start(state) is { } restored) state = restored;
        else torch.manual_seed(o.Seed);

        _logger.LogInformation(FineR1LogEvents.TrainingStarted, "SFT: {Examples} examples, {Steps} steps ({PerEpoch}/epoch × {Epochs}), {Trainable} trainable tensors, {Precision}{Resume}.",
            examples.Count, totalSteps, stepsPerEpoch, o.Epochs, trainable.Count, bf16 ? "bf16" : "float32",
            engine.ResumedFrom is null ? "" : $", resuming from {engine.ResumedFrom} at step {state.GlobalStep}");

        var taken = new List<SftProgress>();
        _model.Module.train();
        bool completed = engine.RunSteps(totalSteps, () => state.GlobalStep, () =>
        {
            var report = TrainStep(engine, examples, state, examplesPerStep);
            if (state.GlobalStep % o.LoggingSteps == 0 || state.GlobalStep == totalSteps)
            {
                engine.WriteMetrics(report.ToMetrics());
                _logger.LogInformation(FineR1LogEvents.TrainingStep, "SFT step {Step}/{Total}: loss {Loss:F4}, lr {Lr:E3}, grad norm {Norm:F3}, {Tps:F0} tokens/s, RSS {Rss:F2} GiB.",
                    report.Step, totalSteps, report.Loss, report.LearningRate, report.GradNorm, report.TokensPerSecond, report.Memory.ResidentGiB);
                progress?.Report(report);
            }
            taken.Add(report);
        }, () => state, cancellationToken);
        return new SftRunResult(state.GlobalStep, totalSteps, completed, engine.ResumedFrom, engine.LastCheckpoint, taken);
    }

    /// <summary>
    /// One optimizer step over the next <paramref name="examplesPerStep"/> examples of the epoch's order: this rank's
    /// micro-batches through the engine, the step, the trainer state moved on, a checkpoint when one is due.
    /// </summary>
    private SftProgress TrainStep(TrainingEngine engine, IReadOnlyList<SftExample> examples, TrainerState state, int examplesPerStep)
    {
        var o = Options;
        var device = _model.Device;
        var meter = new ThroughputMeter();
        var order = SftDataOrder.ForEpoch(examples.Count, o.Seed, state.Epoch);
        int start = (int)state.ExamplesConsumedInEpoch;
        var stepExamples = order.Skip(start).Take(examplesPerStep).Select(i => examples[i]).ToList();
        long supervised = stepExamples.Sum(e => (long)e.SupervisedTokens);
        engine.SchedulerStep = (int)state.GlobalStep;
        double lr = engine.LearningRate;

        double loss = 0;
        long tokens = 0;
        // Per-micro-batch normalisation divides by the micro-batches of the whole (global) step, so that the
        // gradients summed over ranks equal the single-process step's.
        int microBatchesInStep = (stepExamples.Count + o.MicroBatchSize - 1) / o.MicroBatchSize;
        foreach (var micro in DataParallelSharding.MicroBatchesOfRank(stepExamples, o.MicroBatchSize, engine.Group.Rank, engine.Group.WorldSize))
            engine.Backward(() =>
            {
                var batch = SftBatch.Collate(micro, _processor, PadTokenId);   // freed with the micro-batch's scope
                var microLoss = o.LossNormalization == SftLossNormalization.PerOptimizerStep
                    ? Forward(batch, device, supervised)                        // Σ token CE / step's supervised tokens
                    : Forward(batch, device, null) / microBatchesInStep;        // micro-batch mean CE / micro-batches in the step
                loss += microLoss.detach().cpu().to_type(ScalarType.Float64).item<double>();
                tokens += batch.Tokens;
                return microLoss;
            });
        var result = engine.Step();
        if (engine.IsDataParallel)
        {
            var totals = engine.Group.AllReduceScalars([loss, tokens]);
            (loss, tokens) = (totals[0], (long)totals[1]);
        }

        state.ExamplesConsumedInEpoch += stepExamples.Count;
        if (state.ExamplesConsumedInEpoch >= examples.Count) { state.Epoch++; state.ExamplesConsumedInEpoch = 0; }
        state.GlobalStep++;
        state.LearningRate = lr;
        if (!result.Stepped) _logger.LogWarning("SFT step {Step}: gradient norm {Norm} is not finite; step skipped.", state.GlobalStep, result.GradNorm);

        var report = Report(state, loss, lr, result, tokens, supervised, meter.ElapsedSeconds);
        state.LogHistory.Add(History(report));
        var c = o.Checkpointing;
        if (c.OutputDir is not null && (state.GlobalStep == state.TotalSteps || (c.SaveEverySteps > 0 && state.GlobalStep % c.SaveEverySteps == 0)))
            report = report with { Checkpoint = engine.Save(state) };
        return report;
    }

    /// <summary>One micro-batch: forward (the model derives its positions from ids, grids and padding), and the summed
    /// token cross-entropy divided by <paramref name="stepSupervisedTokens"/>, or by the micro-batch's own supervised
    /// tokens when null.</summary>
    private Tensor Forward(SftBatch batch, Device device, long? stepSupervisedTokens)
    {
        bool padded = batch.Tokens != batch.InputIds.NumberOfElements;
        var output = _model.Forward(new VisionLanguageInputs(
            InputIds: batch.InputIds.to(device),
            AttentionMask: padded ? batch.AttentionMask.to(device) : null,
            PixelValues: batch.PixelValues?.to(device),
            ImageGridThw: batch.ImageGridThw));
        return LanguageModelLoss.Compute(output.Logits, batch.Labels.to(device), stepSupervisedTokens);
    }

    private static SftProgress Report(TrainerState state, double loss, double lr, OptimizerStepResult result, long tokens, long supervised, double seconds) =>
        new(state.GlobalStep, state.TotalSteps, state.Epoch + (double)state.ExamplesConsumedInEpoch / state.DatasetSize, loss, lr, result.GradNorm,
            result.Stepped, tokens, supervised, seconds > 0 ? tokens / seconds : 0, seconds, MemoryUsage.Now(), null);

    private static Dictionary<string, double> History(SftProgress p) => new()
    {
        ["step"] = p.Step, ["epoch"] = p.Epoch, ["loss"] = p.Loss, ["learning_rate"] = p.LearningRate, ["grad_norm"] = p.GradNorm,
    };
}
