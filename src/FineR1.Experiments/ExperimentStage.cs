using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Prompts;
using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;
using FineR1.Training.Sft;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;

namespace FineR1.Experiments;

/// <summary>One point of a training curve.</summary>
/// <param name="Step">1-based optimizer step.</param>
/// <param name="TotalSteps">Steps of the phase.</param>
/// <param name="Metric"><c>loss</c> or <c>reward</c>.</param>
/// <param name="Value">The value.</param>
public sealed record CurvePoint(int Step, int TotalSteps, string Metric, double Value);

/// <summary>What a stage's training gets: the model to train in place and the world.</summary>
/// <param name="Model">The model, holding the weights of the stage it starts from.</param>
/// <param name="World">The synthetic world.</param>
/// <param name="Encoder">Chat encoder (real template, the world's image grid).</param>
/// <param name="Processor">Image processor.</param>
/// <param name="Seed">Seed of the experiment.</param>
/// <param name="Progress">Receives curve points while training.</param>
public sealed record StageContext(Qwen2_5_VLForConditionalGeneration Model, FgvrSynthWorld World, LmExampleEncoder Encoder,
    Qwen2VLImageProcessor Processor, int Seed, IProgress<CurvePoint>? Progress);

/// <summary>A stage's training record.</summary>
/// <param name="Trainer">Which trainer ran (shown in the report).</param>
/// <param name="Curve">Loss and/or reward per step.</param>
public sealed record StageTraining(string Trainer, IReadOnlyList<CurvePoint> Curve);

/// <summary>Thrown by a stage whose trainer is not part of this build; the report lists the stage as not available.</summary>
/// <param name="reason">Why.</param>
public sealed class StageNotAvailableException(string reason) : Exception(reason);

/// <summary>One phase of the experiment (zero-shot, direct SFT, CoT SFT, TAPO). Each is evaluated after it trains.</summary>
public interface IExperimentStage
{
    /// <summary>Row name in the table.</summary>
    string Name { get; }

    /// <summary>The stage whose weights this one starts from, or null for the pretrained base.</summary>
    string? StartsFrom { get; }

    /// <summary>Trains <see cref="StageContext.Model"/> in place (or nothing, for zero-shot).</summary>
    /// <exception cref="StageNotAvailableException">The stage's trainer is not available.</exception>
    StageTraining Train(StageContext context, CancellationToken cancellationToken);
}

/// <summary>The pretrained base model as it is: no training.</summary>
public sealed class ZeroShotStage : IExperimentStage
{
    /// <inheritdoc />
    public string Name => "Zero-shot base";

    /// <inheritdoc />
    public string? StartsFrom => null;

    /// <inheritdoc />
    public StageTraining Train(StageContext context, CancellationToken cancellationToken) => new("none", []);
}

/// <summary>How a <see cref="SupervisedStage"/> builds its examples (the quickstart's deviations from the paper's SFT).</summary>
public sealed record SupervisedStageSettings
{
    /// <summary>
    /// Prompt record <c>i</c> as the model will be prompted later (<see cref="SftPrompt"/>: closed-world template, open-world
    /// template, TAPO's format prompt) instead of the bare Stage-1 question.
    /// </summary>
    public bool EvaluationPrompts { get; init; }

    /// <summary>
    /// Replay the world's facts and <see cref="SupervisedStage.ReplayCaptionsPerSpecies"/> attribute captions per species
    /// (seen and unseen) every epoch — rehearsal, so training on seen species does not overwrite what the base model
    /// knows and sees of unseen ones. With facts but no captions a tiny model's visual analysis collapsed onto the
    /// attribute combinations of the seen species.
    /// </summary>
    public bool KnowledgeReplay { get; init; }

    /// <summary>
    /// CoT only: the attribute list and the name in the rationale's visual-analysis sentence ("A bird with [an emerald
    /// crown, …] is the [Vicorith Wren].") are input but not target. The base model already writes them — its caption,
    /// continued as its recognition fact — for every species; supervising them on 4 shots of the seen species teaches
    /// their combinations and names as a prior. The loss stays on the structure, the look-alike, the comparison and the
    /// answer. Measured effect in docs/quickstart.md (mixed).
    /// </summary>
    public bool UnsupervisedAnalysis { get; init; }

    /// <summary>
    /// Train the vision tower and merger too. The paper's SFT does not (LLaMA-Factory defaults
    /// <c>freeze_vision_tower</c> and <c>freeze_multi_modal_projector</c>; docs/method.md §9 item 16): only the language model learns,
    /// so SFT on seen species cannot reshape what the base model sees in images of unseen ones.
    /// </summary>
    public bool TrainVision { get; init; }

    /// <summary>Replay the knowledge in the pretraining's varied contexts (<see cref="KnowledgeContexts"/>) rather than in the plain forms.</summary>
    public bool ReplayInVariedContexts { get; init; }
}

/// <summary>
/// Supervised fine-tuning on the world's Stage-1 records (<see cref="FgvrSynthOptions.Shots"/> per seen species), loss
/// on the assistant turn: the CoT rationale + answer, or the direct <c>&lt;answer&gt;NAME&lt;/answer&gt;</c> baseline,
/// with the paper's Stage-1 prompts or the <paramref name="settings"/>' deviations.
/// </summary>
/// <param name="chainOfThought">True for CoT SFT, false for direct-answer SFT.</param>
/// <param name="options">Optimisation settings.</param>
/// <param name="settings">Example construction (default: the paper's Stage-1 SFT).</param>
public sealed class SupervisedStage(bool chainOfThought, LmTrainingOptions options, SupervisedStageSettings? settings = null) : IExperimentStage
{
    private readonly SupervisedStageSettings _settings = settings ?? new();

    /// <summary>Pretraining captions replayed per species and epoch when knowledge replay is on.</summary>
    public const int ReplayCaptionsPerSpecies = 3;

    /// <inheritdoc />
    public string Name => chainOfThought ? "CoT SFT" : "Direct SFT";

    /// <inheritdoc />
    public string? StartsFrom => null;

    /// <inheritdoc />
    public StageTraining Train(StageContext context, CancellationToken cancellationToken)
    {
        var examples = context.World.Sft.Select((s, i) =>
        {
            var (system, user) = SftPrompt.For(s, i, _settings.EvaluationPrompts);
            var example = context.Encoder.Chat(system, s.Image.Path, user, chainOfThought ? s.CotAnswer : s.DirectAnswer);
            if (!(chainOfThought && _settings.UnsupervisedAnalysis)) return example;
            var species = s.Image.Species;       // "A bird with[ an emerald crown, … and a short beak] is the[ Vicorith Wren]."
            example = context.Encoder.WithoutLossOn(example, s.CotAnswer, " " + Synthetic.Text.TextJoin.List(species.Phrases));
            return context.Encoder.WithoutLossOn(example, s.CotAnswer, " " + species.Name);
        }).ToList();
        if (_settings.KnowledgeReplay)
        {
            bool varied = _settings.ReplayInVariedContexts;
            // varied: every other fact as a question
            examples.AddRange(context.World.Facts.Select((f, i) => KnowledgeContexts.Fact(context.Encoder, f, i, asQuestion: varied && i % 2 == 1)));
            examples.AddRange(context.World.Captions.Select((c, i) => (c, i)).Where(x => x.c.Image.Number < ReplayCaptionsPerSpecies)
                .Select(x => KnowledgeContexts.Caption(context.Encoder, x.c, x.i, varied)));
        }
        if (!_settings.TrainVision) SftTrainer.ApplyFreezing(context.Model, new SftOptions());
        try { return Run(context, examples, cancellationToken); }
        finally { foreach (var p in context.Model.parameters()) p.requires_grad = true; }   // later stages (TAPO) train everything
    }

    private StageTraining Run(StageContext context, List<LmExample> examples, CancellationToken cancellationToken)
    {
        using var trainer = new LanguageModelTrainer(context.Model, context.Processor, options with { Seed = options.Seed + context.Seed });
        var curve = new List<CurvePoint>();
        trainer.Train(examples, new SyncProgress<LmTrainingStep>(s =>
        {
            var p = new CurvePoint(s.Step, s.TotalSteps, "loss", s.Loss);
            curve.Add(p);
            context.Progress?.Report(p);
        }), cancellationToken);
        return new StageTraining("LanguageModelTrainer" + (_settings.EvaluationPrompts ? ", evaluation prompts" : "")
            + (_settings.KnowledgeReplay ? ", knowledge replay" : "") + (chainOfThought && _settings.UnsupervisedAnalysis ? ", analysis not supervised" : "")
            + (_settings.TrainVision ? ", vision trained" : ", vision frozen"), curve);
    }

}

/// <summary>
/// CoT SFT + TAPO: <see cref="TapoTrainer"/> on the world's triplets (<see cref="SynthTapoSamples.Load"/>; anchor = a
/// seen training image, positive = another image of its species, negative = an image of the most similar other species)
/// with the Fine-R1 reward, starting from the CoT-SFT weights. Prompts are encoded by <see cref="TapoPromptEncoder"/> with
/// the experiment's image processor (the tiny model's grid, not the RL resolution). Curve per step: reward and accuracy of the kept batch, accuracy of all generated rollouts.
/// </summary>
/// <param name="options">CPU-sized TAPO settings.</param>
public sealed class TapoStage(TapoStageOptions options) : IExperimentStage
{
    /// <summary>With the default <see cref="TapoStageOptions"/>.</summary>
    public TapoStage() : this(new TapoStageOptions()) { }

    /// <inheritdoc />
    public string Name => "CoT SFT + TAPO";

    /// <inheritdoc />
    public string? StartsFrom => "CoT SFT";

    /// <summary>The TAPO recipe this stage runs: Fine-R1-3B with <paramref name="stage"/>'s sizes, no checkpoints.</summary>
    /// <param name="stage">Stage settings.</param>
    /// <param name="seed">Seed of the data order and sampling.</param>
    public static TapoOptions Recipe(TapoStageOptions stage, int seed)
    {
        stage.Validate();
        var o = TapoOptions.FineR1_3B();
        o.Rollout.N = stage.N;
        o.Rollout.PromptsPerDraw = stage.PromptsPerDraw;
        o.Rollout.RolloutBatchSize = stage.GroupsPerStep;
        o.Rollout.MaxResponseLength = stage.MaxResponseLength;
        o.Rollout.Seed = seed;
        o.Rollout.Temperature = stage.Temperature;
        o.Algorithm.MaxDynamicSamplingTries = stage.MaxDynamicSamplingTries;
        o.Optimization.LearningRate = stage.LearningRate;
        o.Optimization.GlobalBatchSize = stage.GroupsPerStep;     // one optimizer step per RL step
        o.Optimization.MicroBatchSize = 4 * stage.N;
        o.Optimization.LogProbMicroBatchSize = 4 * stage.N;
        o.Optimization.Epochs = 1;
        o.Optimization.GradientCheckpointing = false;             // a memory saver; on CPU with a tiny model it only costs time
        return o;
    }

    /// <inheritdoc />
    public StageTraining Train(StageContext context, CancellationToken cancellationToken)
    {
        var samples = SynthTapoSamples.Load(context.World.Tapo);
        var encoder = new TapoPromptEncoder(new FineR1.Core.Processing.Qwen2_5_VLProcessor(context.Encoder.Tokenizer, context.Processor));
        var curve = new List<CurvePoint>();
        using (var trainer = new TapoTrainer(context.Model, encoder, samples, Recipe(options, context.Seed)))
        {
            for (int step = 1; step <= options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var m = trainer.Step(cancellationToken);
                var reward = new CurvePoint(step, options.Steps, "reward", m.Reward);
                curve.Add(reward);
                curve.Add(new CurvePoint(step, options.Steps, "accuracy", m.Accuracy));
                // Accuracy of every rollout generated this step, before dynamic sampling kept the mixed groups.
                curve.Add(new CurvePoint(step, options.Steps, "generated_accuracy", m.GeneratedAccuracy));
                context.Progress?.Report(reward);
            }
        }
        return new StageTraining($"TapoTrainer ({options.Steps} steps, n {options.N}, {options.GroupsPerStep} groups/step, " +
                                 $"≤ {options.MaxResponseLength} tokens, lr {options.LearningRate:G3})", curve);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that calls back synchronously on the reporting thread.</summary>
/// <typeparam name="T">Report type.</typeparam>
/// <param name="handler">The callback.</param>
public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
