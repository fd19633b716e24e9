using FineR1.Core.Generation;

namespace FineR1.Inference.Classification;

/// <summary>How <see cref="FineGrainedClassifier"/> prompts and decodes. Bound through <c>IOptions</c>.</summary>
public sealed class ClassifierOptions
{
    /// <summary>Question used when a request has none.</summary>
    public string DefaultQuestion { get; set; } = "What is the fine-grained category of the object in the image?";
    /// <summary>Maximum new tokens per answer (the reference evaluation: 2048).</summary>
    public int MaxNewTokens { get; set; } = 2048;
    /// <summary>Repetition penalty; null (default) = the model's <c>generation_config.json</c>, as HF's generate
    /// (Qwen2.5-VL-Instruct: 1.05), or 1 (off) without one. Set a value to override it.</summary>
    public double? RepetitionPenalty { get; set; }
    /// <summary>Sample instead of greedy decoding. Default false, passed explicitly as the reference evaluation's
    /// <c>do_sample=False</c>, so it overrides the checkpoint's <c>do_sample</c>.</summary>
    public bool DoSample { get; set; }
    /// <summary>Sampling temperature (only with <see cref="DoSample"/>); null = generation_config, else 1.</summary>
    public double? Temperature { get; set; }
    /// <summary>Nucleus sampling threshold (only with <see cref="DoSample"/>); null = generation_config, else 1.</summary>
    public double? TopP { get; set; }
    /// <summary>Top-k (only with <see cref="DoSample"/>); null = generation_config, else HF's default 50.</summary>
    public int? TopK { get; set; }
    /// <summary>Sampling seed.</summary>
    public ulong Seed { get; set; }
    /// <summary>Requests generated together by the batch APIs (the reference evaluation: 2).</summary>
    public int BatchSize { get; set; } = 2;
    /// <summary>System message; null = none (Qwen's default "You are a helpful assistant.", as the evaluation).</summary>
    public string? SystemPrompt { get; set; }
    /// <summary>Closed-world wording (placeholders <c>{Question}</c>, <c>{Options}</c>); null = the released code's.</summary>
    public string? ClosedWorldTemplate { get; set; }
    /// <summary>Open-world wording (placeholder <c>{Question}</c>); null = the released code's.</summary>
    public string? OpenWorldTemplate { get; set; }
    /// <summary>
    /// Closed world: replace the model's answer by the candidate with the highest log-likelihood after the reasoning
    /// (never an invalid label). Not in the reference; its numbers are produced with this off.
    /// </summary>
    public bool ConstrainToCandidates { get; set; }
    /// <summary>Closed world: compute a softmax-normalised confidence per candidate (one extra forward per request).</summary>
    public bool ComputeConfidences { get; set; }

    /// <summary>
    /// The decoding options, HF generate's way: the model's <paramref name="modelDefaults"/> (its
    /// <c>generation_config.json</c>) first, every value set here on top; what neither sets gets HF's default. Stop
    /// and pad ids come from the model's file when it has them.
    /// </summary>
    /// <exception cref="ArgumentException">A value out of range (named).</exception>
    public GenerationOptions ToGenerationOptions(GenerationConfig? modelDefaults = null)
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = MaxNewTokens, DoSample = DoSample, Seed = Seed,
            RepetitionPenalty = RepetitionPenalty ?? modelDefaults?.RepetitionPenalty ?? 1.0,
            Temperature = Temperature ?? modelDefaults?.Temperature ?? 1.0,
            TopP = TopP ?? modelDefaults?.TopP ?? 1.0,
            TopK = TopK ?? modelDefaults?.TopK ?? 50,
        };
        if (modelDefaults?.EosTokenIds is { Count: > 0 } eos) options = options with { StopTokenIds = eos };
        if (modelDefaults?.PadTokenId is { } pad) options = options with { PadTokenId = pad };
        return options;
    }
}
