using System.Diagnostics;
using System.Globalization;
using FineR1.Core.Checkpoints;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Common;
using FineR1.Core.Text.Rewards;
using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Engine;
using FineR1.Training.Optimization;
using FineR1.Training.Progress;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using FineR1.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FineR1.Training.Tapo.Trainer;

/// <summary>
/// Stage-2 TAPO training (docs/method.md §5.3–§5.8, §10), one <see cref="Step"/> per RL step:
/// <list type="number">
/// <item>Rollout: draw <c>PromptsPerDraw</c> samples, sample n responses from (q, anchor) and n from (q, positive) per
/// prompt (one group of 2n), score them; DAPO dynamic sampling keeps groups with mean accuracy in (0.01, 0.99) and draws
/// again until <c>RolloutBatchSize</c> groups (limit <c>MaxDynamicSamplingTries</c>).</item>
/// <item>Log-probs without gradient: <c>old_log_probs</c> under each row's <see cref="RolloutRow.LogProbImage"/>
/// (<see cref="TapoAlgorithmOptions.PositiveRolloutConditioning"/>) and <c>aug_log_probs</c> under the negative image,
/// both with the anchor's prompt ids and positions.</item>
/// <item>Group advantages from the overall rewards.</item>
/// <item>Update: mini-batches of <c>GlobalBatchSize·2n</c> rows, each as micro-batches of <c>MicroBatchSize</c> rows
/// with gradient accumulation and the <see cref="TapoObjective"/> loss; clip to <c>MaxGradNorm</c>, skip non-finite
/// steps, AdamW (lr 1e-6, wd 1e-2 over every parameter); the LR schedule (constant, warmup 0 → lr 0 at step 1) steps
/// once per RL step.</item>
/// </list>
/// With <see cref="CheckpointingOptions.OutputDir"/> set, every step appends its <see cref="TapoStepMetrics"/> to
/// <c>metrics.jsonl</c>, every <see cref="CheckpointingOptions.SaveEverySteps"/> steps a checkpoint is written, and a new
/// trainer over the same folder continues from the newest checkpoint exactly (same prompts, sampling seeds, learning
/// rates, optimizer moments and weights as an uninterrupted run) when its first <see cref="Train"/> or <see cref="Step"/>
/// call starts the run. Optimizer, clipping, schedule, gradient synchronisation, checkpoints and metrics are the shared
/// <see cref="TrainingEngine"/>'s.
/// </summary>
/// <example>
/// <code>
/// var options = TapoOptions.FineR1_3B();
/// options.Checkpointing.OutputDir = "runs/tapo";                 // Train resumes from runs/tapo/checkpoint-* if present
/// using var trainer = new TapoTrainer(model, new TapoPromptEncoder(tokenizer), samples, options);
/// trainer.Train(new Progress&lt;TapoStepMetrics&gt;(Console.WriteLine), cancellationToken);   // or: one trainer.Step() at a time
/// </code>
/// </example>
public sealed class TapoTrainer : IDisposable
{
    /// <summary>Value of <see cref="TrainerState.Trainer"/> in TAPO checkpoints.</summary>
    public const string TrainerName = "tapo";

    private readonly IVisionLanguageModel _model;
    // Frozen copy of the starting policy for the optional KL to a reference model (Algorithm.UseReferenceKl; off in
    // Fine-R1's recipe). Built from the weights the trainer is given, before any resume, so it stays the base model.
    private readonly IVisionLanguageModel? _reference;
    private readonly TapoPromptEncoder _encoder;
    private readonly IReadOnlyList<TapoSample> _samples;
    private readonly TapoRolloutEngine _rollout;
    private TapoPromptLoader _loader;
    private readonly List<Dictionary<string, double>> _logHistory = [];
    private double _lastLearningRate;
    private int _promptCounter;
    // The shared training-step core: optimizer, clipping, schedule, gradient synchronisation, checkpoints, metrics.
    private readonly TrainingEngine _training;
    // The data-parallel group (the synchronizer's communicator, or a group of one).
    private ICommunicator Group => _training.Group;

    /// <summary>Creates the trainer; <paramref name="model"/> must be on its training device with weights loaded.</summary>
    /// <param name="model">The policy (trained in place); any family behind <see cref="IVisionLanguageModel"/>.</param>
    /// <param name="encoder">Prompt and image encoding (tokenizer, processor).</param>
    /// <param name="samples">Training triplets.</param>
    /// <param name="options">The recipe (validated with <see cref="TapoOptionsValidator"/>).</param>
    /// <param name="reward">Reward (default <see cref="FineR1ClassificationReward"/>).</param>
    /// <param name="maxRowsPerGeneration">Rows per generation call (0 = all rows of a draw).</param>
    /// <param name="gradientSynchronizer">Data-parallel training over the synchronizer's ranks (null: one process). Every
    /// rank draws the same prompts and generates, scores and filters the groups of its block of them
    /// (<see cref="DataParallelSharding.BlockOfRank"/>; a group never spans ranks, so advantages are local); dynamic
    /// sampling's stopping rule and cut are global (<see cref="DistributedDynamicBatch{TRow}"/>); each mini-batch's loss
    /// is the token mean over all its rows on all ranks (<see cref="DataParallelSharding.TokenMeanShare"/>) and the
    /// gradients are summed between backward and clipping (with <see cref="TapoOptions.DataParallel"/> at ZeRO stage 2:
    /// reduce-scattered into per-rank shards, the optimizer sharded). Rank 0 writes checkpoints and metrics.</param>
    /// <param name="logger">Receives the start, each step, checkpoints and resumption (<see cref="FineR1LogEvents"/>).</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">Invalid options (all problems listed).</exception>
    /// <exception cref="ArgumentException">Fewer samples than one draw; data-parallel options that cannot be honoured.</exception>
    public TapoTrainer(IVisionLanguageModel model, TapoPromptEncoder encoder, IReadOnlyList<TapoSample> samples,
        TapoOptions options, IRewardFunction? reward = null, int maxRowsPerGeneration = 0, IGradientSynchronizer? gradientSynchronizer = null,
        ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        _samples = samples ?? throw new ArgumentNullException(nameof(samples));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        TrainingOptionsValidation.ThrowIfInvalid(new TapoOptionsValidator(), options);
        if (gradientSynchronizer is not null && options.Algorithm.LossAggregation != LossAggregation.Token)
            throw new ArgumentException("data-parallel TAPO supports LossAggregation.Token only (the token mean spans ranks).", nameof(options));
        int world = gradientSynchronizer?.Communicator.WorldSize ?? 1;
        if (options.Rollout.PromptsPerDraw < world)
            throw new ArgumentException($"PromptsPerDraw ({options.Rollout.PromptsPerDraw}) must be at least the world size ({world}).", nameof(options));
        Reward = reward ?? new FineR1ClassificationReward();
        _rollout = new TapoRolloutEngine(model, encoder.Tokenizer, Reward, options.Rollout, options.Algorithm.PositiveRolloutConditioning, maxRowsPerGeneration);
        _loader = new TapoPromptLoader(samples.Count, options.Rollout.PromptsPerDraw, options.Rollout.Seed);

        if (options.Algorithm.UseReferenceKl) _reference = model.CreateFrozenCopy();
        SetTrainable(model, options.Optimization);
        // Recompute decoder layers (and vision blocks, which TAPO trains) in backward; only active in training mode.
        if (options.Optimization.GradientCheckpointing)
            model.EnableGradientCheckpointing(includeVision: !options.Optimization.FreezeVisionTower);
        model.Module.train();
        var o = options.Optimization;
        _training = new TrainingEngine(model, model.UniqueParameters().Where(t => t.Parameter.requires_grad), new TrainingEngineOptions
        {
            TrainerName = TrainerName,
            AdamW = new AdamWSettings(o.LearningRate, o.WeightDecay, o.Beta1, o.Beta2, o.AdamEpsilon),   // EasyR1 decays every parameter
            OptimizerStates = o.OptimizerStates,
            MaxGradNorm = o.MaxGradNorm,
            LearningRateSchedule = ScheduledLearningRate,
            Checkpointing = options.Checkpointing,
            ZeroStage = options.DataParallel.ZeroStage,
        }, gradientSynchronizer, _logger);
    }

    private readonly ILogger _logger;

    /// <summary>The recipe.</summary>
    public TapoOptions Options { get; }

    /// <summary>The reward.</summary>
    public IRewardFunction Reward { get; }

    /// <summary>RL steps completed.</summary>
    public int StepCount { get; private set; }

    /// <summary>Warmup steps of the LR schedule (<c>WarmupRatio · TotalSteps</c>, 0 in Fine-R1).</summary>
    public int WarmupSteps => (int)(Options.Optimization.WarmupRatio * TotalSteps);

    /// <summary>Nominal RL steps (docs/method.md §5.7): <c>floor(batchesPerEpoch · PromptsPerDraw / RolloutBatchSize) · Epochs</c>.</summary>
    public int TotalSteps => Math.Max(1, _loader.BatchesPerEpoch * Options.Rollout.PromptsPerDraw / Options.Rollout.RolloutBatchSize) * Options.Optimization.Epochs;

    /// <summary>The optimizer (AnyPrecisionAdamW over every trainable parameter, tied weights once; see
    /// <see cref="TapoOptimizationOptions.OptimizerStates"/>); null with ZeRO-2 (<see cref="TapoOptions.DataParallel"/>),
    /// whose state is sharded over the ranks.</summary>
    public TrainingOptimizer? Optimizer => _training.Optimizer;

    /// <summary>The parameters TAPO trains, each tensor once (also with ZeRO-2).</summary>
    public IReadOnlyList<Parameter> TrainableParameters => _training.Parameters;

    /// <summary>Names of the parameters TAPO trains (set from <see cref="TapoOptimizationOptions.FreezeVisionTower"/> at construction).</summary>
    public IReadOnlyList<string> TrainableParameterNames => _training.Names;

    /// <summary>The checkpoint folder this trainer continued from (known once the first <see cref="Train"/> or
    /// <see cref="Step"/> call has started the run), or null for a fresh run.</summary>
    public string? ResumedFrom => _training.ResumedFrom;

    /// <summary>The newest checkpoint written (or resumed from) by this trainer, or null.</summary>
    public string? LastCheckpoint => _training.LastCheckpoint;

    /// <summary>Test hook: replaces rollout generation for one draw (its prompts and sampling seed → rollouts), e.g. to
    /// replay another run's responses.</summary>
    internal Func<IReadOnlyList<PreparedTapoPrompt>, ulong, IReadOnlyList<TapoRollout>>? GenerateRollouts { get; set; }

    /// <summary>The rollout engine (for <see cref="GenerateRollouts"/> hooks that wrap it).</summary>
    internal TapoRolloutEngine RolloutEngine => _rollout;

    /// <summary>Test hook: the training batch with its old and negative-image log-probs, before the update.</summary>
    internal Action<IReadOnlyList<TapoRollout>, Tensor, Tensor>? BatchPrepared { get; set; }

    /// <summary>
    /// Runs the remaining RL steps up to <see cref="TotalSteps"/>, reporting each step's metrics to
    /// <paramref name="progress"/>. A cancellation seen between steps writes a checkpoint
    /// (<see cref="CheckpointingOptions.SaveOnCancel"/>, when an output folder is set) and returns the steps run so far;
    /// one seen inside a step (rollout or update loop) throws <see cref="OperationCanceledException"/> as
    /// <see cref="Step"/> does, and the run resumes from the last checkpoint. The first call of a trainer starts the run:
    /// it continues from the newest checkpoint in <see cref="CheckpointingOptions.OutputDir"/> when
    /// <see cref="CheckpointingOptions.ResumeFromLatest"/> is on (see <see cref="ResumedFrom"/>).
    /// </summary>
    /// <returns>The metrics of the steps this call ran.</returns>
    /// <exception cref="TrainingCheckpointException">The newest checkpoint belongs to another run (trainer, dataset size,
    /// seed, batch sizes or epochs differ) or is damaged.</exception>
    public IReadOnlyList<TapoStepMetrics> Train(IProgress<TapoStepMetrics>? progress = null, CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        var taken = new List<TapoStepMetrics>();
        _training.RunSteps(TotalSteps, () => StepCount, () =>
        {
            var metrics = Step(cancellationToken);
            taken.Add(metrics);
            progress?.Report(metrics);
        }, CheckpointState, cancellationToken);
        return taken;
    }

    /// <summary>Runs one RL step (rollout, log-probs, update) and returns its metrics; the first call starts the run as
    /// <see cref="Train"/> does (resume included).</summary>
    /// <exception cref="InvalidOperationException">Dynamic sampling hit its draw limit.</exception>
    /// <exception cref="TrainingCheckpointException">The newest checkpoint belongs to another run or is damaged.</exception>
    public TapoStepMetrics Step(CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        var prompts = new List<PreparedTapoPrompt>();
        try
        {
            var clock = Stopwatch.StartNew();
            var (batch, globalIndex, globalRows, draws, generated, groupsGenerated, groupsKept, generatedAccuracy, generatedReward) = CollectBatch(prompts, cancellationToken);
            var rolloutSeconds = clock.Elapsed.TotalSeconds;

            using var scope = NewDisposeScope();
            var device = _model.Device;
            var (responseIds, responseMask) = ResponseTensors(batch);                                       // [R, T] CPU
            clock.Restart();
            Tensor oldLogProbs, augLogProbs;
            Tensor? refLogProbs;
            using (no_grad())
            {
                if (batch.Count == 0) (oldLogProbs, augLogProbs, refLogProbs) = (zeros(0, 0), zeros(0, 0), null);   // a rank whose groups were all cut
                else
                {
                oldLogProbs = NoGradLogProbs(_model, batch, responseIds, responseMask, r => r.Row.LogProbImage);
                augLogProbs = NoGradLogProbs(_model, batch, responseIds, responseMask, r => r.Row.AugLogProbImage);
                // The reference policy sees what the current policy sees (the row's log-prob image).
                refLogProbs = _reference is null ? null : NoGradLogProbs(_reference, batch, responseIds, responseMask, r => r.Row.LogProbImage);
                }
            }
            var logProbSeconds = clock.Elapsed.TotalSeconds;
            BatchPrepared?.Invoke(batch, oldLogProbs, augLogProbs);

            clock.Restart();
            var maskF = responseMask.to(ScalarType.Float32, device);
            var scores = tensor(batch.Select(r => (float)r.Score.Overall).ToArray(), ScalarType.Float32, device);
            var advantages = DapoAdvantage.ComputeOutcomeAdvantageFromScores(scores, maskF, batch.Select(r => r.Row.GroupId).ToArray(),
                Options.Algorithm.AdvantageEpsilon);
            var update = Update(batch, globalIndex, globalRows, responseIds, responseMask, maskF, oldLogProbs, augLogProbs, refLogProbs, advantages, cancellationToken);
            var updateSeconds = clock.Elapsed.TotalSeconds;

            double lr = _training.LearningRate;
            _training.AdvanceSchedule();
            StepCount++;
            // Batch statistics over all ranks' rows (sums, then divided by the global row count).
            var sums = Group.AllReduceScalars([batch.Sum(r => r.Score.Overall), batch.Sum(r => r.Score.Accuracy), batch.Sum(r => r.Score.Format),
                batch.Sum(r => (double)r.ResponseIds.Length), batch.Count(r => r.FinishReason == FinishReason.Length)]);
            int maxLength = (int)Group.AllGatherScalars([batch.Count == 0 ? 0 : batch.Max(r => r.ResponseIds.Length)]).Max(v => v[0]);
            var metrics = update with
            {
                Step = StepCount,
                LearningRate = lr,
                Reward = sums[0] / globalRows,
                Accuracy = sums[1] / globalRows,
                FormatRate = sums[2] / globalRows,
                GeneratedAccuracy = generatedAccuracy,
                GeneratedReward = generatedReward,
                Draws = draws,
                GroupsGenerated = groupsGenerated,
                GroupsKept = groupsKept,
                BatchRows = (int)globalRows,
                ResponseLengthMean = sums[3] / globalRows,
                ResponseLengthMax = maxLength,
                TruncatedFraction = sums[4] / globalRows,
                RolloutSeconds = rolloutSeconds,
                LogProbSeconds = logProbSeconds,
                UpdateSeconds = updateSeconds,
            };
            _lastLearningRate = lr;
            _logHistory.Add(metrics.ToLogHistory());
            _training.WriteMetrics(metrics.ToMetrics());
            var every = Options.Checkpointing.SaveEverySteps;
            if (Options.Checkpointing.OutputDir is not null && every > 0 && StepCount % every == 0) SaveCheckpoint();
            _logger.LogInformation(FineR1LogEvents.TrainingStep,
                "TAPO step {Step}/{Total}: reward {Reward:F3}, accuracy {Accuracy:F3}, policy loss {Loss:F4}, lr {Lr:E3}, {Seconds:F1} s.",
                metrics.Step, TotalSteps, metrics.Reward, metrics.Accuracy, metrics.PolicyLoss, lr, clock.Elapsed.TotalSeconds);
            return metrics;
        }
        finally
        {
            foreach (var p in prompts) p.Dispose();
        }
    }

    /// <summary>The dynamic-sampling loop (docs/method.md §5.3); data-parallel: this rank's block of every draw, global decisions.</summary>
    private (IReadOnlyList<TapoRollout> Batch, long[] GlobalIndex, long GlobalRows, int Draws, int Generated, int GroupsGenerated, int GroupsKept,
        double GeneratedAccuracy, double GeneratedReward)
        CollectBatch(List<PreparedTapoPrompt> prompts, CancellationToken cancellationToken)
    {
        var a = Options.Algorithm;
        var accumulator = new DistributedDynamicBatch<TapoRollout>(Group, Options.Rollout.RolloutBatchSize, a.MaxDynamicSamplingTries,
            a.FilterAccuracyLow, a.FilterAccuracyHigh);
        int generated = 0, groups = 0;
        double correct = 0, reward = 0;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var indices = _loader.Next();
            int first = _promptCounter;
            _promptCounter += indices.Count;
            var (start, count) = DataParallelSharding.BlockOfRank(indices.Count, Group.Rank, Group.WorldSize).GetOffsetAndLength(indices.Count);
            var draw = Enumerable.Range(start, count).Select(k => _encoder.Encode(_samples[indices[k]], $"p{first + k}")).ToList();
            prompts.AddRange(draw);
            // Rank 0 samples with the single-process seed; other ranks with distinct seeds derived from it.
            ulong seed = unchecked(SamplingSeed(_promptCounter) + (ulong)Group.Rank * 0x9E3779B97F4A7C15UL);
            var rollouts = draw.Count == 0 ? [] : GenerateRollouts?.Invoke(draw, seed) ?? _rollout.Generate(draw, seed);
            generated += rollouts.Count;
            groups += draw.Count;
            correct += rollouts.Sum(r => r.Score.Accuracy);
            reward += rollouts.Sum(r => r.Score.Overall);
            accumulator.Add(rollouts, rollouts.Select(r => r.Row.GroupId).ToArray(), rollouts.Select(r => r.Score.Accuracy).ToArray());
        }
        while (!accumulator.IsComplete);
        var (rows, globalRows) = accumulator.TakeBatch();
        var totals = Group.AllReduceScalars([generated, groups, correct, reward]);
        return (rows.Select(r => r.Row).ToList(), rows.Select(r => r.GlobalIndex).ToArray(), globalRows, accumulator.Tries,
            (int)totals[0], (int)totals[1], accumulator.GroupCount, totals[2] / totals[0], totals[3] / totals[0]);
    }

    private (Tensor Ids, Tensor Mask) ResponseTensors(IReadOnlyList<TapoRollout> batch)
    {
        int rows = batch.Count, width = rows == 0 ? 0 : batch.Max(r => r.ResponseIds.Length);
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        Array.Fill(ids, _rollout.PadTokenId);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < batch[r].ResponseIds.Length; i++)
            {
                ids[r * width + i] = batch[r].ResponseIds[i];
                mask[r * width + i] = 1;
            }
        return (tensor(ids, [rows, width], ScalarType.Int64), tensor(mask, [rows, width], ScalarType.Int64));
    }

    private Tensor NoGradLogProbs(IVisionLanguageModel model, IReadOnlyList<TapoRollout> batch, Tensor ids, Tensor mask,
        Func<TapoRollout, TripletImage> image)
    {
        var parts = new List<Tensor>();
        foreach (var range in GradientAccumulation.MicroBatches(batch.Count, Options.Optimization.LogProbMicroBatchSize))
            parts.Add(MicroLogProbs(model, batch, ids, mask, range, image, ids.shape[1]));
        return cat(parts, 0);                                                                                  // [R, T]
    }

    /// <summary>Log-probs of rows <paramref name="range"/>, computed over their own longest response and padded to <paramref name="width"/>.</summary>
    private Tensor MicroLogProbs(IVisionLanguageModel model, IReadOnlyList<TapoRollout> batch, Tensor ids, Tensor mask,
        Range range, Func<TapoRollout, TripletImage> image, long width)
    {
        var (start, count) = range.GetOffsetAndLength(batch.Count);
        var rows = Enumerable.Range(start, count)
            .Select(i => new LogProbRow(batch[i].Prompt.PromptIds, batch[i].Prompt.Pixels(image(batch[i])), batch[i].Prompt.Grid)).ToList();
        long used = Enumerable.Range(start, count).Max(i => batch[i].ResponseIds.Length);
        var logp = TapoLogProbs.Compute(model, rows, ids.narrow(0, start, count).narrow(1, 0, used),
            mask.narrow(0, start, count).narrow(1, 0, used), Options.Rollout.Temperature, _rollout.PadTokenId);
        return used == width ? logp : nn.functional.pad(logp, [0, width - used]);
    }

    /// <summary>
    /// The PPO epochs over mini-batches of <c>GlobalBatchSize·2n</c> rows of the (global) batch. One process: each
    /// mini-batch's micro-batches back-propagate <c>loss / count</c> (the reference). Data-parallel: a rank holds the rows of
    /// a mini-batch whose global index falls in its window, and each micro-batch's token mean is weighted by its share of
    /// the mini-batch's tokens over all ranks, so the summed gradient is that of the token mean over the whole mini-batch.
    /// </summary>
    private TapoStepMetrics Update(IReadOnlyList<TapoRollout> batch, long[] globalIndex, long globalRows, Tensor ids, Tensor mask, Tensor maskF,
        Tensor oldLogProbs, Tensor augLogProbs, Tensor? refLogProbs, Tensor advantages, CancellationToken cancellationToken)
    {
        var o = Options.Optimization;
        int rowsPerMiniBatch = o.GlobalBatchSize * 2 * Options.Rollout.N;
        long width = ids.shape[1];
        double pg = 0, kl = 0, ent = 0, augEnt = 0, ppoKl = 0, clipHi = 0, clipLo = 0, norms = 0;
        int micro = 0, steps = 0, skipped = 0;
        for (int epoch = 0; epoch < o.PpoEpochs; epoch++)
        {
            for (long window = 0; window < globalRows; window += rowsPerMiniBatch)
            {
                // Global indices increase with local order, so this rank's rows of the window are one local range.
                int miniStart = Array.FindIndex(globalIndex, g => g >= window), miniEnd = Array.FindIndex(globalIndex, g => g >= window + rowsPerMiniBatch);
                if (miniStart < 0) miniStart = batch.Count;
                if (miniEnd < 0) miniEnd = batch.Count;
                int miniRows = miniEnd - miniStart;
                double share = 0, localTokens = 0;
                if (_training.IsDataParallel)
                {
                    localTokens = miniRows == 0 ? 0 : maskF.narrow(0, miniStart, miniRows).sum().ToDouble();
                    share = DataParallelSharding.TokenMeanShare(Group, (long)localTokens);
                }
                var micros = GradientAccumulation.MicroBatches(miniRows, o.MicroBatchSize);
                foreach (var local in micros)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    _training.Backward(() =>
                    {
                        var (s, c) = local.GetOffsetAndLength(miniRows);
                        var range = (miniStart + s)..(miniStart + s + c);
                        var logp = MicroLogProbs(_model, batch, ids, mask, range, r => r.Row.LogProbImage, width);
                        var r = TapoObjective.Compute(new TapoMicroBatch(logp, oldLogProbs[range], advantages[range], maskF[range], augLogProbs[range],
                            refLogProbs?[range]),
                            Options.Algorithm);
                        pg += r.PolicyLoss; kl += r.KlPrcp; ent += r.OriEntropy; augEnt += r.AugEntropy;
                        ppoKl += r.PolicyMetrics.PpoKl; clipHi += r.PolicyMetrics.ClipFractionHigher; clipLo += r.PolicyMetrics.ClipFractionLower;
                        micro++;
                        return _training.IsDataParallel ? r.Loss * (share * maskF[range].sum().ToDouble() / localTokens) : r.Loss / micros.Count;
                    });
                }
                var step = _training.Step();
                if (step.Stepped) { steps++; norms += step.GradNorm; } else skipped++;
            }
        }
        // Micro-batch averages over all ranks' micro-batches.
        var m = Group.AllReduceScalars([pg, kl, ent, augEnt, ppoKl, clipHi, clipLo, micro]);
        return new TapoStepMetrics
        {
            PolicyLoss = m[0] / m[7], KlToNegative = m[1] / m[7], Entropy = m[2] / m[7], NegativeEntropy = m[3] / m[7],
            PpoKl = m[4] / m[7], ClipFractionHigher = m[5] / m[7], ClipFractionLower = m[6] / m[7],
            GradNorm = steps == 0 ? double.NaN : norms / steps, OptimizerSteps = steps, SkippedOptimizerSteps = skipped,
        };
    }

    /// <summary>
    /// Writes <c>checkpoint-{StepCount}</c> under <see cref="CheckpointingOptions.OutputDir"/> now: the model in HF
    /// layout (weights in their training dtype), the AdamW state, and <c>trainer_state.json</c> with the LR-scheduler step,
    /// the prompt loader's epoch and position, the prompt counter that derives every draw's sampling seed (on CUDA the
    /// device generator is re-seeded from it for each generation call) and torch's CPU generator state.
    /// </summary>
    /// <returns>The checkpoint folder.</returns>
    /// <exception cref="InvalidOperationException">No output folder is configured.</exception>
    public string SaveCheckpoint()
    {
        if (Options.Checkpointing.OutputDir is null) throw new InvalidOperationException("TapoOptions.Checkpointing.OutputDir is not set.");
        EnsureStarted();
        return _training.Save(CheckpointState());
    }

    /// <summary>The trainer state of a checkpoint written now.</summary>
    private TrainerState CheckpointState()
    {
        var state = ExpectedState();
        state.GlobalStep = StepCount;
        state.Epoch = _loader.Epoch;
        state.ExamplesConsumedInEpoch = (long)_loader.Position * Options.Rollout.PromptsPerDraw;
        state.LearningRate = _lastLearningRate;
        state.LogHistory = [.. _logHistory];
        state.Extra["loader_epoch"] = _loader.Epoch.ToString(CultureInfo.InvariantCulture);
        state.Extra["loader_position"] = _loader.Position.ToString(CultureInfo.InvariantCulture);
        state.Extra["prompt_counter"] = _promptCounter.ToString(CultureInfo.InvariantCulture);
        state.Extra["scheduler_step"] = _training.SchedulerStep.ToString(CultureInfo.InvariantCulture);
        state.Extra["next_sampling_seed"] = SamplingSeed(_promptCounter + Options.Rollout.PromptsPerDraw).ToString(CultureInfo.InvariantCulture);
        return state;
    }

    /// <summary>The run-identifying fields a checkpoint must match to be resumed.</summary>
    private TrainerState ExpectedState()
    {
        var state = new TrainerState
        {
            Trainer = TrainerName,
            TotalSteps = TotalSteps,
            Seed = Options.Rollout.Seed,
            DatasetSize = _samples.Count,
        };
        state.Extra["prompts_per_draw"] = Options.Rollout.PromptsPerDraw.ToString(CultureInfo.InvariantCulture);
        state.Extra["rollout_batch_size"] = Options.Rollout.RolloutBatchSize.ToString(CultureInfo.InvariantCulture);
        return state;
    }

    /// <summary>
    /// Starts the run on the first <see cref="Train"/>, <see cref="Step"/> or <see cref="SaveCheckpoint"/> call: resumes
    /// from the newest checkpoint (<see cref="CheckpointingOptions.ResumeFromLatest"/>) with the LR schedule, prompt loader,
    /// prompt counter, step count and log history it recorded, aligns data-parallel replicas, opens the metrics file.
    /// </summary>
    private void EnsureStarted()
    {
        if (_training.Started) return;
        int loaderEpoch = 0, loaderPosition = 0, promptCounter = 0, schedulerStep = 0;
        var state = _training.Start(ExpectedState(), "samples", (state, folder) =>
        {
            int Extra(string key)
            {
                TrainingEngine.RequireCheckpoint(state.Extra.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
                    $"trainer_state.json has no valid extra.{key}", folder);
                return int.Parse(state.Extra[key], CultureInfo.InvariantCulture);
            }
            (loaderEpoch, loaderPosition, promptCounter, schedulerStep) = (Extra("loader_epoch"), Extra("loader_position"), Extra("prompt_counter"), Extra("scheduler_step"));
        });
        if (state is null) return;
        _training.SchedulerStep = schedulerStep;
        _loader = new TapoPromptLoader(_samples.Count, Options.Rollout.PromptsPerDraw, Options.Rollout.Seed, loaderEpoch, loaderPosition);
        _promptCounter = promptCounter;
        StepCount = checked((int)state.GlobalStep);
        _lastLearningRate = state.LearningRate;
        _logHistory.AddRange(state.LogHistory);
    }

    /// <summary>LR of scheduler step <paramref name="step"/> (EasyR1: constant after a linear warmup of
    /// <see cref="WarmupSteps"/>, 0 at step 0 when there is no warmup).</summary>
    private double ScheduledLearningRate(int step) =>
        Options.Optimization.LearningRate * LearningRateSchedules.ConstantWithWarmup(step, WarmupSteps);

    /// <summary>
    /// Sets <c>requires_grad</c> of every parameter from the options, whatever an earlier trainer left: all trainable,
    /// except <c>model.visual.*</c> (vision tower and merger) when <see cref="TapoOptimizationOptions.FreezeVisionTower"/>.
    /// </summary>
    private static void SetTrainable(IVisionLanguageModel model, TapoOptimizationOptions o)
    {
        foreach (var (name, p) in model.Module.named_parameters())
            p.requires_grad = !(o.FreezeVisionTower && model.PartOf(name) != ModelPart.LanguageModel);
    }

    /// <summary>Sampling seed of the draw whose prompts end at <paramref name="promptCounter"/>.</summary>
    private ulong SamplingSeed(int promptCounter) => (ulong)Options.Rollout.Seed * 1_000_003UL + (ulong)promptCounter;

    /// <summary>Closes the metrics file and frees the optimizer state.</summary>
    public void Dispose()
    {
        _reference?.Dispose();
        _training.Dispose();
    }
}
