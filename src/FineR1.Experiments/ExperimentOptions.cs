using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;

namespace FineR1.Experiments;

/// <summary>Settings of the quickstart experiment (<see cref="ExperimentRunner"/>).</summary>
public sealed record ExperimentOptions
{
    /// <summary>Where the world, reports and plot go.</summary>
    public required string OutputFolder { get; init; }

    /// <summary>Where cached base models go (default <c>OutputFolder/cache</c>).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Seed of everything (world, initialisation, data order).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Where the models train and generate: <c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c> or <c>auto</c>
    /// (<see cref="FineR1.Core.Hosting.DeviceSelector"/>).
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Torch's intra-op CPU threads while the experiment runs (default 1; the previous count is restored afterwards).
    /// The thread count changes how a CPU sums floats, so a fixed count makes a seed's table the same whatever the
    /// machine's core count (another kind of CPU may still round differently: docs/quickstart.md). One thread is also the fastest on a busy machine: the
    /// tiny model's matrices are too small to gain from more, and OpenMP threads that wait for a shared core spin.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>The world.</summary>
    public FgvrSynthOptions World { get; init; } = FgvrSynthOptions.Default;

    /// <summary>
    /// Base-model pretraining: vision depth 3, 6 epochs (batch 16, lr 2e-3) over 150 captioned images per species and the
    /// facts repeated 16 times, all in varied contexts (<see cref="KnowledgeContexts"/>).
    /// </summary>
    public PretrainingOptions Pretraining { get; init; } = DefaultPretraining;

    private static PretrainingOptions DefaultPretraining { get; } = new()
    {
        VisionDepth = 3, VariedContexts = true, FactRepeats = 16, Training = new LmTrainingOptions { Epochs = 6, BatchSize = 16, LearningRate = 2e-3 },
    };

    /// <summary>Direct-answer SFT settings (the same budget as <see cref="CotSft"/>: 4 epochs, batch 8, lr 2e-3).</summary>
    public LmTrainingOptions DirectSft { get; init; } = new() { Epochs = 4, BatchSize = 8, LearningRate = 2e-3 };

    /// <summary>CoT SFT settings: 4 epochs, batch 8, lr 2e-3. Few epochs on purpose: longer SFT on 4 shots of the seen
    /// species teaches the tiny model the seen species' attribute combinations and names as a prior, and its unseen-class
    /// accuracy falls to 0 (measured in the default world, seed 1: 8 epochs 0 %, 4 epochs 9.3 % open-world unseen;
    /// docs/quickstart.md).</summary>
    public LmTrainingOptions CotSft { get; init; } = new() { Epochs = 4, BatchSize = 8, LearningRate = 2e-3 };

    /// <summary>SFT stages wrap the Stage-1 questions in the evaluation templates (<see cref="SupervisedStage"/>; default on).</summary>
    public bool SftOnEvaluationTemplates { get; init; } = true;

    /// <summary>SFT stages replay the world's facts every epoch (<see cref="SupervisedStage"/>; default on).</summary>
    public bool SftKnowledgeReplay { get; init; } = true;

    /// <summary>CoT SFT leaves the attributes and name of the rationale's visual analysis out of the loss (<see cref="SupervisedStage"/>;
    /// default off: it helped the quick world's unseen species and hurt the full world's answer format, docs/quickstart.md).</summary>
    public bool CotSftUnsupervisedAnalysis { get; init; }

    /// <summary>SFT stages train the vision tower and merger too (default off, as the paper's SFT: <see cref="SupervisedStageSettings.TrainVision"/>).</summary>
    public bool SftTrainVision { get; init; }

    /// <summary>
    /// TAPO settings (CoT SFT + TAPO stage): 16 steps, n 4, 4 groups per step, rollouts at temperature 0.6, lr 3e-5. 16
    /// rather than 8 steps: at 8 the reward was still rising. A higher learning rate (1e-4, 3e-4) fixed more of the CoT
    /// model's answer format but taught the seen species' names, and unseen accuracy fell (docs/quickstart.md).
    /// </summary>
    public TapoStageOptions Tapo { get; init; } = new() { Steps = 16, Temperature = 0.6, LearningRate = 3e-5 };

    /// <summary>
    /// System message of the evaluation chat: the SFT data's (the paper's Stage-1 system prompt, default), so the
    /// evaluation context matches what the SFT stages trained on; null = the chat template's default system message.
    /// </summary>
    public string? EvalSystemPrompt { get; init; } = FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt;

    /// <summary>Generation budget per evaluation answer.</summary>
    public int EvalMaxNewTokens { get; init; } = 200;

    /// <summary>Prompts per generation batch.</summary>
    public int EvalBatchSize { get; init; } = 24;

    /// <summary>Evaluate open world too (text inclusion; no SigLIP model, so no SS_rel).</summary>
    public bool OpenWorld { get; init; } = true;

    /// <summary>
    /// The world of the demo: <paramref name="world"/> with 150 captioned pretraining images per species and 30 % of the
    /// generator's nuisance variation — at full variation a vision tower trained from scratch for a few CPU minutes
    /// misreads the fine attributes (breast pattern, beak length) too often for any stage to name a species, and an unseen
    /// species differs from its seen look-alike in exactly such an attribute (docs/quickstart.md).
    /// </summary>
    public static FgvrSynthOptions DemoWorld(FgvrSynthOptions world, int seed) => world with { Seed = seed, PretrainImagesPerSpecies = 150, Variation = 0.3 };

    /// <summary>The full demo (24 species).</summary>
    public static ExperimentOptions Default(string outputFolder, int seed = 1) => new()
    {
        OutputFolder = outputFolder, Seed = seed, World = DemoWorld(FgvrSynthOptions.Default, seed),
    };

    /// <summary>
    /// The GPU preset (<c>finer1 quickstart --device cuda</c>): the default world and recipe, trained longer where a GPU
    /// makes it cheap — pretraining 12 epochs instead of 6 (the base model's perception of the fine attributes bounds every
    /// stage's unseen accuracy), TAPO 48 steps of 8 groups with n 8 (more mixed groups for dynamic sampling). Float32
    /// weights as on the CPU. Not measured yet: no GPU was available when it was written (docs/quickstart.md).
    /// </summary>
    public static ExperimentOptions Gpu(string outputFolder, int seed = 1) => Default(outputFolder, seed) with
    {
        Device = "cuda",
        Pretraining = DefaultPretraining with { Training = DefaultPretraining.Training with { Epochs = 12 } },
        Tapo = new TapoStageOptions { Steps = 48, N = 8, PromptsPerDraw = 8, GroupsPerStep = 8, MaxResponseLength = 160, Temperature = 0.6, LearningRate = 3e-5 },
    };

    /// <summary>A reduced run for CI and a first look: 10 species, a faster pretraining recipe, 6 TAPO steps of n 2, answers of at most 150 tokens.</summary>
    public static ExperimentOptions Quick(string outputFolder, int seed = 1) => new()
    {
        OutputFolder = outputFolder, Seed = seed,
        World = DemoWorld(FgvrSynthOptions.Quick, seed),
        // Batch 32 at lr 3e-3 and 12 fact repeats: 79 s of pretraining instead of 110 s on a 2-core CPU, to keep the
        // preset under 3 minutes.
        Pretraining = DefaultPretraining with { FactRepeats = 12, Training = DefaultPretraining.Training with { BatchSize = 32, LearningRate = 3e-3 } },
        DirectSft = new LmTrainingOptions { Epochs = 8, BatchSize = 8, LearningRate = 2e-3 },
        CotSft = new LmTrainingOptions { Epochs = 8, BatchSize = 8, LearningRate = 2e-3 },
        Tapo = new TapoStageOptions { Steps = 6, N = 2, PromptsPerDraw = 2, GroupsPerStep = 2, MaxResponseLength = 128, Temperature = 0.6, LearningRate = 3e-5 },
        EvalMaxNewTokens = 150,
    };
}
