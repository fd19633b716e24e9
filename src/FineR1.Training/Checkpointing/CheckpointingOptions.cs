namespace FineR1.Training.Checkpointing;

/// <summary>
/// Checkpoints, resume and the metrics file of a training run; the same settings for SFT (<c>SftOptions.Checkpointing</c>)
/// and TAPO (<c>TapoOptions.Checkpointing</c>). Nothing is written while <see cref="OutputDir"/> is null (the default).
/// With an output folder the trainer appends its metrics to <see cref="MetricsFileName"/>, writes a
/// <c>checkpoint-{step}</c> folder (model in HF layout, optimizer state, <c>trainer_state.json</c>) every
/// <see cref="SaveEverySteps"/> steps, and continues from the newest checkpoint in the folder
/// (<see cref="ResumeFromLatest"/>). Checked by <see cref="CheckpointingOptionsValidator"/>.
/// </summary>
public sealed record CheckpointingOptions
{
    /// <summary>Folder of checkpoints and metrics; null = write nothing and never resume.</summary>
    public string? OutputDir { get; set; }

    /// <summary>Write a checkpoint after every this many optimizer steps (SFT) or RL steps (TAPO); 0 = only where the
    /// trainer always saves (SFT: at the end; TAPO: never). Metrics are written either way.</summary>
    public int SaveEverySteps { get; set; }

    /// <summary>Keep only the newest this many checkpoints; 0 = keep all (HF <c>save_total_limit</c>).</summary>
    public int KeepLast { get; set; } = 2;

    /// <summary>Continue from the newest checkpoint in <see cref="OutputDir"/> when there is one (default on).</summary>
    public bool ResumeFromLatest { get; set; } = true;

    /// <summary>Write a checkpoint when a <c>Train</c> call is cancelled between steps, so the run can resume from there
    /// (default on).</summary>
    public bool SaveOnCancel { get; set; } = true;

    /// <summary>Metrics file (JSON Lines) inside <see cref="OutputDir"/>; null or empty = none.</summary>
    public string? MetricsFileName { get; set; } = "metrics.jsonl";

    /// <summary>A base-model folder whose tokenizer, processor and generation files are copied into every checkpoint
    /// (optional), so a checkpoint is a complete HF model folder.</summary>
    public string? BaseModelFolder { get; set; }
}
