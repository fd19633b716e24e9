using FineR1.Core.Generation;

namespace FineR1.Inference.Classification;

/// <summary>How <see cref="FineGrainedClassifier"/> prompts and decodes. Bound through <c>IOptions</c>.</summary>
public sealed class ClassifierOptions
{
    /// <summary>Question used when a request has none.</summary>
    public string DefaultQuestion { get; set; } = "What is the fine-grained category of the object in the image?";
    /// <summary>Maximum new tokens per answer (the reference evaluation: 2048).</summary>
    public int MaxNewTokens { get; set; } = 2048;
    /// <summary>Repetition penalty (1 = off, the paper's greedy evaluation; Qwen2.5-VL-Instruct's generation_config has 1.05).</summary>
    public double RepetitionPenalty { get; set; } = 1.0;
    /// <summary>Sample instead of greedy decoding (the reference evaluation is greedy).</summary>
    public bool DoSample { get; set; }
    /// <summary>Sampling temperature (only with <see cref="DoSample"/>).</summary>
    public double Temperature { get; set; } = 1.0;
    /// <summary>Nucleus sampling threshold (only with <see cref="DoSample"/>).</summary>
    public double TopP { get; set; } = 1.0;
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

    /// <summary>The decoding options these settings describe.</summary>
    /// <exception cref="ArgumentException">A value out of range (named).</exception>
    public GenerationOptions ToGenerationOptions() => new()
    {
        MaxNewTokens = MaxNewTokens, RepetitionPenalty = RepetitionPenalty, DoSample = DoSample,
        Temperature = Temperature, TopP = TopP, Seed = Seed,
    };
}
