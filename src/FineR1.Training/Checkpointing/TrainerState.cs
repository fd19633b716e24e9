using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineR1.Training.Checkpointing;

/// <summary>
/// Everything besides weights and optimizer tensors that a trainer needs to continue a run exactly where it stopped
/// (<c>trainer_state.json</c>, keys in snake_case like HF Trainer's file). Shared by the SFT and TAPO trainers; a trainer
/// keeps its own extra values in <see cref="Extra"/>.
/// </summary>
public sealed class TrainerState
{
    /// <summary>Version of this file's layout.</summary>
    public int FormatVersion { get; set; } = 1;

    /// <summary>Which trainer wrote it (<c>"sft"</c>, <c>"tapo"</c>); resuming with another trainer is refused.</summary>
    public string Trainer { get; set; } = "";

    /// <summary>Optimizer steps completed (HF <c>global_step</c>); the checkpoint folder is <c>checkpoint-{GlobalStep}</c>.</summary>
    public long GlobalStep { get; set; }

    /// <summary>Optimizer steps of the whole run (drives the learning-rate schedule; must not change on resume).</summary>
    public long TotalSteps { get; set; }

    /// <summary>Zero-based epoch the next step belongs to.</summary>
    public int Epoch { get; set; }

    /// <summary>Examples of <see cref="Epoch"/> already consumed (position in that epoch's shuffled order).</summary>
    public long ExamplesConsumedInEpoch { get; set; }

    /// <summary>Seed of the data order and of the torch generator at the start of the run.</summary>
    public int Seed { get; set; }

    /// <summary>Number of examples the run trains on (a resume with a different dataset is refused).</summary>
    public long DatasetSize { get; set; }

    /// <summary>State of torch's default CPU generator when the checkpoint was written (base64 of <c>get_rng_state</c>).</summary>
    public string? TorchRngState { get; set; }

    /// <summary>Learning rate of the last completed step.</summary>
    public double LearningRate { get; set; }

    /// <summary>One entry per logged step (metric name → value), as HF's <c>log_history</c>.</summary>
    public List<Dictionary<string, double>> LogHistory { get; set; } = [];

    /// <summary>Trainer-specific values (e.g. TAPO's dynamic-sampling buffer position).</summary>
    public Dictionary<string, string> Extra { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The state as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses <c>trainer_state.json</c>.</summary>
    /// <exception cref="TrainingCheckpointException">Invalid JSON.</exception>
    public static TrainerState Parse(string json, string? source = null)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(json, Json)
                ?? throw new TrainingCheckpointException("trainer state is null.", source);
        }
        catch (JsonException e)
        {
            throw new TrainingCheckpointException($"invalid trainer state JSON: {e.Message}", source, e);
        }
    }
}
