using FineR1.Training.Pretraining;
using FineR1.Training.Synthetic;

namespace FineR1.Training.Experiments;

/// <summary>Settings of the quickstart experiment (<see cref="ExperimentRunner"/>).</summary>
public sealed record ExperimentOptions
{
    /// <summary>Where the world, reports and plot go.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Where cached base models go (default <c>OutputFolder/cache</c>).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Seed of everything (world, initialisation, data order).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The world.</summary>
    public FgvrSynthOptions World { get; init; } = FgvrSynthOptions.Default;

    /// <summary>Base-model pretraining.</summary>
    public PretrainingOptions Pretraining { get; init; } = new();

    /// <summary>Direct-answer SFT settings.</summary>
    public LmTrainingOptions DirectSft { get; init; } = new() { Epochs = 8, BatchSize = 4, LearningRate = 1e-3 };

    /// <summary>CoT SFT settings.</summary>
    public LmTrainingOptions CotSft { get; init; } = new() { Epochs = 8, BatchSize = 4, LearningRate = 1e-3 };

    /// <summary>SFT stages wrap the Stage-1 questions in the evaluation templates (<see cref="SupervisedStage"/>; default on).</summary>
    public bool SftOnEvaluationTemplates { get; init; } = true;

    /// <summary>TAPO settings (CoT SFT + TAPO stage).</summary>
    public TapoStageOptions Tapo { get; init; } = new();

    /// <summary>
    /// System message of the evaluation chat: the SFT data's (the paper's Stage-1 system prompt, default), so the
    /// evaluation context matches what the SFT stages trained on; null = the chat template's default system message.
    /// </summary>
    public string? EvalSystemPrompt { get; init; } = FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt;

    /// <summary>Generation budget per evaluation answer.</summary>
    public int EvalMaxNewTokens { get; init; } = 384;

    /// <summary>Prompts per generation batch.</summary>
    public int EvalBatchSize { get; init; } = 24;

    /// <summary>Evaluate open world too (text inclusion; no SigLIP model, so no SS_rel).</summary>
    public bool OpenWorld { get; init; } = true;

    /// <summary>The full demo (24 species).</summary>
    public static ExperimentOptions Default(string outputFolder, int seed = 1) => new()
    {
        OutputFolder = outputFolder, Seed = seed, World = FgvrSynthOptions.Default with { Seed = seed },
    };

    /// <summary>A reduced run (10 species, shorter training and generation) for CI.</summary>
    public static ExperimentOptions Quick(string outputFolder, int seed = 1) => new()
    {
        OutputFolder = outputFolder, Seed = seed,
        World = FgvrSynthOptions.Quick with { Seed = seed, PretrainImagesPerSpecies = 4 },
        Pretraining = new PretrainingOptions { Training = new LmTrainingOptions { Epochs = 4, BatchSize = 8, LearningRate = 3e-3 } },
        DirectSft = new LmTrainingOptions { Epochs = 16, BatchSize = 4, LearningRate = 1e-3 },
        CotSft = new LmTrainingOptions { Epochs = 12, BatchSize = 4, LearningRate = 1e-3 },
        Tapo = new TapoStageOptions { Steps = 3, N = 2, PromptsPerDraw = 2, GroupsPerStep = 2, MaxResponseLength = 48 },
        EvalMaxNewTokens = 400,
    };
}
