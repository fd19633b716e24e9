using Microsoft.Extensions.Logging;

namespace FineR1.Core.Diagnostics;

/// <summary>
/// The event ids FineR1 logs with, one range per package: 1xxx FineR1.Core, 2xxx FineR1.Training, 3xxx
/// FineR1.Inference. Filter or route on them (e.g. <c>EventId.Id == FineR1LogEvents.ModelLoaded.Id</c>). The
/// libraries never write to the console; they log through the <see cref="ILogger"/> they are given (none: no output).
/// </summary>
public static class FineR1LogEvents
{
    /// <summary>A model folder starts loading (folder, device, dtype).</summary>
    public static readonly EventId ModelLoading = new(1000, nameof(ModelLoading));
    /// <summary>A model folder was loaded (folder, device, dtype, parameter count, tensors read, duration).</summary>
    public static readonly EventId ModelLoaded = new(1001, nameof(ModelLoaded));
    /// <summary>A warm-up generation ran after loading (duration).</summary>
    public static readonly EventId ModelWarmedUp = new(1002, nameof(ModelWarmedUp));
    /// <summary>A checkpoint was read into a module (path, tensors, bytes, GB/s).</summary>
    public static readonly EventId CheckpointLoaded = new(1100, nameof(CheckpointLoaded));
    /// <summary>A checkpoint was written (folder, tensors, bytes, duration).</summary>
    public static readonly EventId CheckpointSaved = new(1101, nameof(CheckpointSaved));

    /// <summary>A training run starts or resumes (stage, step, total steps).</summary>
    public static readonly EventId TrainingStarted = new(2000, nameof(TrainingStarted));
    /// <summary>One optimisation step finished (stage, step, total, loss or reward, duration).</summary>
    public static readonly EventId TrainingStep = new(2001, nameof(TrainingStep));
    /// <summary>A training state (weights, optimiser, data position) was saved for resuming.</summary>
    public static readonly EventId TrainingCheckpointSaved = new(2100, nameof(TrainingCheckpointSaved));
    /// <summary>A training state was restored.</summary>
    public static readonly EventId TrainingCheckpointLoaded = new(2101, nameof(TrainingCheckpointLoaded));

    /// <summary>A classification batch finished (images, prefill, decode, total).</summary>
    public static readonly EventId ClassificationBatch = new(3000, nameof(ClassificationBatch));
    /// <summary>An evaluation run finished a file (records, accuracy).</summary>
    public static readonly EventId EvaluationProgress = new(3100, nameof(EvaluationProgress));
}
