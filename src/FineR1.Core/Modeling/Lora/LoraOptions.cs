namespace FineR1.Core.Modeling.Lora;

/// <summary>
/// LoRA hyper-parameters and targets, as PEFT's <c>LoraConfig</c> (saved as <c>adapter_config.json</c>).
/// </summary>
/// <example><code>
/// var lora = model.ApplyLora(new LoraOptions { Rank = 64, Alpha = 128, Dropout = 0.05 });
/// </code></example>
public sealed class LoraOptions
{
    /// <summary>PEFT's adapter name; the only one supported.</summary>
    public const string DefaultAdapterName = "default";

    /// <summary>The decoder's linear layers (PEFT's usual list for Qwen2).</summary>
    public static IReadOnlyList<string> AllLinearTargets { get; } =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Rank <c>r</c> of the update <c>B·A</c> (PEFT <c>r</c>, default 8).</summary>
    public int Rank { get; set; } = 8;

    /// <summary>PEFT <c>lora_alpha</c> (default 8); the update is scaled by <c>alpha / r</c>.</summary>
    public double Alpha { get; set; } = 8;

    /// <summary>Dropout on the input of <c>lora_A</c> in training mode (PEFT <c>lora_dropout</c>, default 0).</summary>
    public double Dropout { get; set; }

    /// <summary>Last name segment of the linear layers to wrap (PEFT <c>target_modules</c> as a list).</summary>
    public IReadOnlyList<string> TargetModules { get; set; } = AllLinearTargets;

    /// <summary>
    /// Module-path prefix the targets are searched under: <c>model.language_model.</c> (the decoder) by default. The
    /// vision tower's layers are <c>nn.Linear</c> fields that cannot be wrapped (injection there throws).
    /// </summary>
    public string ModulePrefix { get; set; } = "model.language_model.";

    /// <summary><c>alpha / r</c>.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">Rank not positive, dropout outside [0, 1), or no targets.</exception>
    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"LoRA rank must be positive, got {Rank}.");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"LoRA dropout must be in [0, 1), got {Dropout}.");
        if (TargetModules is null || TargetModules.Count == 0) throw new ArgumentException("LoRA needs at least one target module.");
    }
}
