using FineR1.Core.Modeling;
using FineR1.Training.Distributed;
using FineR1.Training.Optimization;
using FineR1.Training.Progress;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Engine;

/// <summary>
/// The training-step core shared by every FineR1 trainer (SFT, TAPO, the demo's language-model pretraining). A trainer
/// supplies its batches and its loss; the engine owns the rest of one optimizer step:
/// <list type="number">
/// <item><see cref="Backward"/> per micro-batch: the trainer's loss, back-propagated inside its own dispose scope;</item>
/// <item><see cref="Step"/>: the gradient-synchronisation hook (<see cref="IGradientSynchronizer"/>, where data
/// parallelism plugs in), clipping to the global norm (a non-finite norm skips the update), the AdamW update
/// (<see cref="TrainingOptimizer"/>), zeroed gradients. With <see cref="ZeroStage.Two"/> the same step is ZeRO-2:
/// reduce-scatter into per-rank gradient shards, the global norm over the shards, AdamW on this rank's shard, all-gather
/// of the parameters;</item>
/// <item><see cref="AdvanceSchedule"/>: the learning rate of the next scheduler step.</item>
/// </list>
/// Around the steps: <see cref="Start"/> (resume from the newest checkpoint, align data-parallel replicas, open the
/// metrics file), <see cref="Save"/>, <see cref="WriteMetrics"/>, and <see cref="RunSteps"/> (the loop with cancellation
/// and save-on-cancel). Progress (<c>IProgress&lt;T&gt;</c>) stays with the trainer, whose report type it is.
/// </summary>
/// <example><code>
/// using var engine = new TrainingEngine(model, trainable, new TrainingEngineOptions { TrainerName = "mine", AdamW = new(1e-5, 0.1) });
/// engine.Start(new TrainerState { Trainer = "mine", TotalSteps = 100 });
/// foreach (var micro in microBatches) engine.Backward(() => MyLoss(micro) / microBatches.Count);
/// var result = engine.Step();      // grad norm, stepped?
/// engine.AdvanceSchedule();
/// </code></example>
public sealed partial class TrainingEngine : IDisposable
{
    private readonly IVisionLanguageModel _model;
    private readonly IOptimizerStrategy _optimizer;
    private readonly IGradientSynchronizer? _synchronizer;
    private readonly ICommunicator? _ownGroup;
    private readonly ILogger _logger;
    private readonly string _displayName;

    /// <summary>Creates the optimizer over <paramref name="trainable"/> (each tensor once, e.g.
    /// <see cref="IVisionLanguageModel.UniqueParameters"/> filtered by <c>requires_grad</c>) and sets the
    /// learning rate of scheduler step 0.</summary>
    /// <param name="model">The model being trained (checkpoints with its <see cref="IVisionLanguageModel.Config"/> as
    /// <c>config.json</c>, resume, replica alignment).</param>
    /// <param name="trainable">The parameters the optimizer updates.</param>
    /// <param name="options">Optimizer, clipping, schedule, checkpoints.</param>
    /// <param name="synchronizer">Data-parallel training over the synchronizer's ranks (null: one process).</param>
    /// <param name="logger">Receives resumption, checkpoints and cancellation (<see cref="Core.Diagnostics.FineR1LogEvents"/>).</param>
    /// <exception cref="ArgumentException">No trainable parameters, a repeated name, or parameters of several dtypes.</exception>
    public TrainingEngine(IVisionLanguageModel model, IEnumerable<(string Name, Parameter Parameter)> trainable,
        TrainingEngineOptions options, IGradientSynchronizer? synchronizer = null, ILogger? logger = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentNullException.ThrowIfNull(trainable);
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _synchronizer = synchronizer;
        _logger = logger ?? NullLogger.Instance;
        _displayName = options.TrainerName.ToUpperInvariant();
        Group = synchronizer?.Communicator ?? (_ownGroup = new ThreadedProcessGroup(1, TimeSpan.FromMinutes(1)).Communicator(0));
        _optimizer = options.ZeroStage switch
        {
            ZeroStage.None => new ReplicatedOptimizer(TrainingOptimizer.Create(trainable, options.AdamW, options.OptimizerStates), synchronizer),
            ZeroStage.Two => ShardedOptimizer.Create(trainable, Group, options.AdamW, options.OptimizerStates),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.ZeroStage, "unknown ZeRO stage."),
        };
        SchedulerStep = 0;
    }

    /// <summary>The settings.</summary>
    public TrainingEngineOptions Options { get; }

    /// <summary>The data-parallel group (a group of one without a synchronizer).</summary>
    public ICommunicator Group { get; }

    /// <summary>Whether a gradient synchronizer spreads the run over ranks.</summary>
    public bool IsDataParallel => _synchronizer is not null;

    /// <summary>The trained parameters (each tensor once).</summary>
    public IReadOnlyList<Parameter> Parameters => _optimizer.Parameters;

    /// <summary>Their names, in <see cref="Parameters"/> order (also the keys of the saved optimizer state).</summary>
    public IReadOnlyList<string> Names => _optimizer.Names;

    /// <summary>The replicated optimizer (its state dtype, Kahan summation, exported state); null with
    /// <see cref="ZeroStage.Two"/>, whose state is sharded (<see cref="ZeroOptimizer"/>).</summary>
    public TrainingOptimizer? Optimizer => (_optimizer as ReplicatedOptimizer)?.Optimizer;

    /// <summary>The ZeRO-2 optimizer (layout, this rank's shard); null with <see cref="ZeroStage.None"/>.</summary>
    public Distributed.Zero.ZeroRedundancyOptimizer? ZeroOptimizer => (_optimizer as ShardedOptimizer)?.Zero;

    /// <summary>Learning rate of the next <see cref="Step"/> (set from the schedule by <see cref="SchedulerStep"/>).</summary>
    public double LearningRate => _optimizer.LearningRate;

    /// <summary>The scheduler step; setting it sets <see cref="LearningRate"/> to the schedule's value there.</summary>
    public int SchedulerStep
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
            _optimizer.LearningRate = Options.LearningRateSchedule?.Invoke(value) ?? Options.AdamW.LearningRate;
        }
    }

    /// <summary>Moves the schedule one step on (SFT and pretraining: after every optimizer step; TAPO: after every RL step).</summary>
    public void AdvanceSchedule() => SchedulerStep++;

    /// <summary>
    /// One micro-batch: runs <paramref name="microBatchLoss"/> (forward and the trainer's loss, already divided as the
    /// trainer's accumulation requires) and back-propagates it, inside a dispose scope that frees the activations before
    /// the next micro-batch. Gradients accumulate until <see cref="Step"/>.
    /// </summary>
    public void Backward(Func<Tensor> microBatchLoss)
    {
        ArgumentNullException.ThrowIfNull(microBatchLoss);
        using var scope = NewDisposeScope();
        microBatchLoss().backward();
    }

    /// <summary>
    /// Ends an optimizer step: gradient synchronisation (data-parallel), clipping to <see cref="TrainingEngineOptions.MaxGradNorm"/>,
    /// the optimizer update unless the norm is not finite, zeroed gradients. Collective in data-parallel runs.
    /// </summary>
    /// <returns>The global gradient norm before clipping and whether the update was applied.</returns>
    public OptimizerStepResult Step() => _optimizer.Step(Options.MaxGradNorm);

    /// <summary>Closes the metrics file and frees the optimizer state.</summary>
    public void Dispose()
    {
        _metrics?.Dispose();
        _optimizer.Dispose();
        _ownGroup?.Dispose();
    }
}
