using FineR1.Core.Diagnostics;
using FineR1.Training.Checkpointing;
using FineR1.Training.Distributed;
using FineR1.Training.Progress;
using Microsoft.Extensions.Logging;

namespace FineR1.Training.Engine;

/// <summary>Resume, checkpoints, metrics and the step loop of <see cref="TrainingEngine"/>.</summary>
public sealed partial class TrainingEngine
{
    private MetricsJsonlWriter? _metrics;

    /// <summary>Whether <see cref="Start"/> has run.</summary>
    public bool Started { get; private set; }

    /// <summary>The checkpoint this run continued from, or null for a fresh run.</summary>
    public string? ResumedFrom { get; private set; }

    /// <summary>The newest checkpoint written (or resumed from) by this engine, or null.</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>The step of <see cref="LastCheckpoint"/> (−1 when there is none).</summary>
    public long LastCheckpointStep { get; private set; } = -1;

    /// <summary>
    /// Begins (or continues) a run; every rank calls it once, before the first step. With
    /// <see cref="CheckpointingOptions.ResumeFromLatest"/> and a checkpoint in <see cref="CheckpointingOptions.OutputDir"/>
    /// it checks that the checkpoint belongs to this run (trainer, dataset size, total steps, seed and every key of
    /// <paramref name="expected"/>'s <see cref="TrainerState.Extra"/>; then <paramref name="checkState"/>), loads the
    /// weights and the optimizer state and restores torch's generator. Data-parallel: copies rank 0's weights to every rank
    /// (frozen ones too, as DDP does). Rank 0 opens the metrics file, dropping lines after the restored step.
    /// </summary>
    /// <param name="expected">The run-identifying fields of this run.</param>
    /// <param name="datasetItems">What the dataset holds, for the mismatch message ("examples", "samples").</param>
    /// <param name="checkState">Trainer-specific checks of the checkpoint's state before anything is loaded; throws
    /// <see cref="TrainingCheckpointException"/> (use <see cref="RequireCheckpoint"/>).</param>
    /// <returns>The restored trainer state, or null for a fresh run.</returns>
    /// <exception cref="TrainingCheckpointException">The checkpoint belongs to another run or is incomplete.</exception>
    public TrainerState? Start(TrainerState expected, string datasetItems = "examples", Action<TrainerState, string>? checkState = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (Started) throw new InvalidOperationException("the engine has already started.");
        var c = Options.Checkpointing;
        TrainerState? restored = null;
        if (c.OutputDir is not null && c.ResumeFromLatest && TrainingCheckpoints.FindLatest(c.OutputDir) is { } latest)
        {
            restored = TrainingCheckpoints.ReadState(latest);
            CheckSameRun(restored, expected, latest, datasetItems);
            checkState?.Invoke(restored, latest);
            _optimizer.Load(latest, _model.Module);
            if (restored.TorchRngState is { } rng) TrainingCheckpoints.RestoreTorchRng(rng);
            ResumedFrom = LastCheckpoint = latest;
            LastCheckpointStep = restored.GlobalStep;
            _logger.LogInformation(FineR1LogEvents.TrainingCheckpointLoaded, "{Trainer} resumed from {Folder} at step {Step}.",
                _displayName, latest, restored.GlobalStep);
        }
        if (_synchronizer is not null)   // replicas start identical, frozen parts included (DDP broadcasts the whole model too)
            DataParallelSharding.BroadcastParameters(Group, _model.UniqueParameters().Select(p => p.Parameter).ToList());
        if (c.OutputDir is not null && !string.IsNullOrEmpty(c.MetricsFileName) && Group.Rank == 0)
        {
            var path = Path.Combine(c.OutputDir, c.MetricsFileName);
            MetricsJsonlWriter.TruncateAfterStep(path, restored?.GlobalStep ?? 0);   // drop steps the checkpoint does not contain
            _metrics = new MetricsJsonlWriter(path);
        }
        Started = true;
        return restored;
    }

    /// <summary>Throws a <see cref="TrainingCheckpointException"/> naming <paramref name="folder"/> unless <paramref name="ok"/>.</summary>
    public static void RequireCheckpoint(bool ok, string what, string folder)
    {
        if (!ok) throw new TrainingCheckpointException(
            $"cannot resume: {what}. Use another Checkpointing.OutputDir or set Checkpointing.ResumeFromLatest = false.", folder);
    }

    private static void CheckSameRun(TrainerState state, TrainerState expected, string folder, string datasetItems)
    {
        RequireCheckpoint(state.Trainer == expected.Trainer, $"written by trainer '{state.Trainer}', not '{expected.Trainer}'", folder);
        RequireCheckpoint(state.DatasetSize == expected.DatasetSize,
            $"the checkpoint's run had {state.DatasetSize} {datasetItems}, this one {expected.DatasetSize}", folder);
        RequireCheckpoint(state.Seed == expected.Seed, $"the checkpoint's seed is {state.Seed}, this run's {expected.Seed}", folder);
        RequireCheckpoint(state.TotalSteps == expected.TotalSteps,
            $"the checkpoint's run had {state.TotalSteps} steps, this one {expected.TotalSteps} (batch sizes or epochs changed)", folder);
        foreach (var (key, value) in expected.Extra)
            RequireCheckpoint(state.Extra.GetValueOrDefault(key) == value,
                $"{key} was {state.Extra.GetValueOrDefault(key) ?? "missing"}, this run's {value}", folder);
    }

    /// <summary>
    /// Collective: writes <c>checkpoint-{state.GlobalStep}</c> under <see cref="CheckpointingOptions.OutputDir"/> (the
    /// model in HF layout, the optimizer state, <paramref name="state"/> with torch's generator state) and keeps the
    /// newest <see cref="CheckpointingOptions.KeepLast"/>. Data-parallel: rank 0 writes the model, the others wait for it;
    /// with <see cref="ZeroStage.Two"/> every rank also writes its optimizer shard
    /// (<see cref="Distributed.Zero.ZeroCheckpoints"/>), and a resume on another world size re-shards.
    /// </summary>
    /// <returns>The checkpoint folder (on every rank).</returns>
    /// <exception cref="InvalidOperationException">No output folder is configured.</exception>
    public string Save(TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var c = Options.Checkpointing;
        var output = c.OutputDir ?? throw new InvalidOperationException("Checkpointing.OutputDir is not set.");
        var folder = _optimizer.Save(output, state.GlobalStep, () =>
        {
            state.TorchRngState = TrainingCheckpoints.CaptureTorchRng();
            return new TrainingCheckpointContent(_model.Module, _model.Config, [], state, CopyFilesFrom: c.BaseModelFolder);
        }, c.KeepLast);
        LastCheckpoint = folder;
        LastCheckpointStep = state.GlobalStep;
        if (Group.Rank == 0)
            _logger.LogInformation(FineR1LogEvents.TrainingCheckpointSaved, "{Trainer} checkpoint written: {Folder}.", _displayName, folder);
        return folder;
    }

    /// <summary>Appends one record to the metrics file (rank 0 with an output folder; otherwise nothing).</summary>
    public void WriteMetrics(IReadOnlyDictionary<string, object?> record) => _metrics?.Write(record);

    /// <summary>
    /// Runs <paramref name="step"/> until <paramref name="completedSteps"/> reaches <paramref name="totalSteps"/>. A
    /// cancellation seen between steps writes a checkpoint of <paramref name="checkpointState"/> (when an output folder is
    /// set, <see cref="CheckpointingOptions.SaveOnCancel"/> is on and this step has none yet) and returns false.
    /// </summary>
    /// <returns>True when all steps ran.</returns>
    public bool RunSteps(long totalSteps, Func<long> completedSteps, Action step, Func<TrainerState> checkpointState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completedSteps);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(checkpointState);
        while (completedSteps() < totalSteps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                var c = Options.Checkpointing;
                if (c.OutputDir is not null && c.SaveOnCancel && LastCheckpointStep != completedSteps()) Save(checkpointState());
                _logger.LogInformation("{Trainer} cancelled after step {Step}.", _displayName, completedSteps());
                return false;
            }
            step();
        }
        return true;
    }
}
