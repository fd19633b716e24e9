namespace FineR1.Training.Tapo;

/// <summary>
/// Checkpoints, resume and the metrics file of a TAPO run. Nothing is written while <see cref="OutputDir"/> is null
/// (the default). With an output folder every step appends a line to <see cref="MetricsFileName"/>, every
/// <see cref="SaveEverySteps"/> steps a <c>checkpoint-{step}</c> folder is written (model in HF layout, optimizer state,
/// <c>trainer_state.json</c>), and a new trainer over the same folder continues from the newest checkpoint.
/// </summary>
public sealed class TapoCheckpointOptions
{
    /// <summary>Folder of checkpoints and metrics; null = write nothing and never resume.</summary>
    public string? OutputDir { get; set; }

    /// <summary>Write a checkpoint after every this many RL steps; 0 = never (metrics are still written).</summary>
    public int SaveEverySteps { get; set; } = 20;

    /// <summary>Keep only the newest this many checkpoints; 0 = keep all.</summary>
    public int KeepLast { get; set; } = 2;

    /// <summary>Continue from the newest checkpoint in <see cref="OutputDir"/> when the trainer is created (default on).</summary>
    public bool ResumeFromLatest { get; set; } = true;

    /// <summary>Per-step metrics file (JSON Lines) inside <see cref="OutputDir"/>; null or empty = none.</summary>
    public string? MetricsFileName { get; set; } = "metrics.jsonl";

    /// <summary>A base-model folder whose tokenizer / processor files are copied into each checkpoint (optional), so a
    /// checkpoint is a complete HF model folder.</summary>
    public string? BaseModelFolder { get; set; }
}
