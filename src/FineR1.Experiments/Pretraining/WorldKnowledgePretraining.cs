using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Experiments.Synthetic;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Experiments.Pretraining;

/// <summary>Settings of <see cref="WorldKnowledgePretraining"/>.</summary>
public sealed record PretrainingOptions
{
    /// <summary>Decoder width of the tiny model (<see cref="TinyQwenConfig.Create"/>).</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Decoder layers.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Vision blocks.</summary>
    public int VisionDepth { get; init; } = 2;

    /// <summary>Vision width.</summary>
    public int VisionHidden { get; init; } = 64;

    /// <summary>The model configuration for a closed-vocabulary tokenizer (<see cref="WorldVocabulary"/>).</summary>
    public Qwen2_5_VLConfig ConfigFor(QwenTokenizer tokenizer) => TinyQwenConfig.Create(HiddenSize, Layers, VisionDepth, VisionHidden, tokenizer);

    /// <summary>Optimisation settings.</summary>
    public LmTrainingOptions Training { get; init; } = new() { Epochs = 3, BatchSize = 8, LearningRate = 3e-3 };

    /// <summary>
    /// Times each fact appears per epoch. Facts are few (about ten per species) beside hundreds of captions, and the
    /// recognition facts ("a … with … is the NAME") are what lets the chain of thought name an unseen species.
    /// </summary>
    public int FactRepeats { get; init; } = 8;

    /// <summary>
    /// Teach the knowledge in varied contexts (<see cref="KnowledgeContexts"/>): captions under several system messages,
    /// instructions and lead-ins, and every other repeat of the facts as the answer to a question.
    /// </summary>
    public bool VariedContexts { get; init; }

    /// <summary>Seed of the weight initialisation.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Image processor bounds (112×112 images stay 112×112: 64 patches, 16 tokens).</summary>
    public Qwen2VLImageProcessorOptions Images { get; init; } = new() { MinPixels = 28 * 28, MaxPixels = 112 * 112 };
}

/// <summary>The pretrained base model and how it was obtained.</summary>
/// <param name="Model">The model (eval mode, CPU, float32).</param>
/// <param name="Folder">The cache folder holding <c>config.json</c>, <c>model.safetensors</c>, <c>losses.json</c>.</param>
/// <param name="FromCache">True when the weights were loaded rather than trained.</param>
/// <param name="Losses">The pretraining loss curve (from the cache when loaded).</param>
/// <param name="Elapsed">Time to train or load.</param>
public sealed record PretrainedBase(Qwen2_5_VLForConditionalGeneration Model, string Folder, bool FromCache,
    IReadOnlyList<LmTrainingStep> Losses, TimeSpan Elapsed);

/// <summary>
/// Trains the base model that stands in for the pretrained MLLM: a tiny Qwen2.5-VL learns the world's knowledge —
/// attribute captions of images of <b>all</b> species (seen and unseen; no names) and text facts linking each species
/// name to its attributes — never the classification task. Cached under <c>cacheRoot/base-&lt;hash&gt;</c> where the hash
/// covers the world (<c>world.json</c>, captions, facts) and every setting, so a second run loads it in seconds.
/// </summary>
public static class WorldKnowledgePretraining
{
    /// <summary>Builds the caption and fact examples for <paramref name="world"/>.</summary>
    /// <param name="world">The world.</param>
    /// <param name="encoder">Chat encoder.</param>
    /// <param name="factRepeats">Times each fact appears.</param>
    /// <param name="variedContexts">Phrase the knowledge in varied contexts (<see cref="PretrainingOptions.VariedContexts"/>).</param>
    public static IReadOnlyList<LmExample> Examples(FgvrSynthWorld world, LmExampleEncoder encoder, int factRepeats = 1, bool variedContexts = false)
    {
        var examples = new List<LmExample>();
        for (int i = 0; i < world.Captions.Count; i++)
            examples.Add(KnowledgeContexts.Caption(encoder, world.Captions[i], i, variedContexts));
        for (int r = 0; r < factRepeats; r++)        // varied: every other repeat as questions
            for (int i = 0; i < world.Facts.Count; i++)
                examples.Add(KnowledgeContexts.Fact(encoder, world.Facts[i], i + r, asQuestion: variedContexts && r % 2 == 1));
        return examples;
    }

    /// <summary>
    /// HF's <c>_init_weights</c> for Qwen2.5-VL (initializer_range 0.02): weights N(0, 0.02), biases 0, norms 1.
    /// TorchSharp's defaults (embedding N(0, 1)) start the loss near 100 instead of ln(vocab).
    /// </summary>
    public static void InitializeWeights(Qwen2_5_VLForConditionalGeneration model, double std = 0.02)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.UniqueParameters())
        {
            if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
            else if (p.dim() == 1) p.fill_(1.0);                    // RMSNorm weights
            else p.normal_(0, std);
        }
    }

    /// <summary>The cache key of a world + settings (hex SHA-256 prefix); a base trained on a GPU gets its own key.</summary>
    public static string CacheKey(FgvrSynthWorld world, QwenTokenizer tokenizer, PretrainingOptions options, Device? device = null)
    {
        var sb = new StringBuilder();
        sb.Append(File.ReadAllText(world.Files.WorldJson)).Append('\n');
        foreach (var c in world.Captions) sb.Append(c.Image.RelativePath).Append('\t').Append(c.Text).Append('\n');
        foreach (var f in world.Facts) sb.Append(f.Text).Append('\n');
        sb.Append(options.ConfigFor(tokenizer).ToJson()).Append('\n');
        sb.Append(string.Join(",", tokenizer.ClosedVocabulary ?? [])).Append('\n');
        sb.Append(JsonSerializer.Serialize(options.Training)).Append(options.Seed).Append(',').Append(options.FactRepeats).Append(options.VariedContexts ? ",varied" : "").Append('\n');
        sb.Append(options.Images.MinPixels).Append(',').Append(options.Images.MaxPixels).Append("\nv4-closed-vocabulary");
        if (device is not null && device.type != DeviceType.CPU) sb.Append("\ntrained on ").Append(device.type);   // other kernels, other weights
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..16].ToLowerInvariant();
    }

    /// <summary>Loads the cached base model for this world and settings, or trains and caches it.</summary>
    /// <param name="world">The generated world.</param>
    /// <param name="tokenizer">The world's closed-vocabulary tokenizer (<see cref="WorldVocabulary.Build"/>).</param>
    /// <param name="options">Settings.</param>
    /// <param name="cacheRoot">Folder holding cached base models.</param>
    /// <param name="device">Where the model trains and is returned (null: CPU). Weights are initialised on the CPU either way.</param>
    /// <param name="progress">Receives every training step (not called when loaded from the cache).</param>
    /// <param name="cancellationToken">Cancels training.</param>
    public static PretrainedBase LoadOrTrain(FgvrSynthWorld world, QwenTokenizer tokenizer, PretrainingOptions options,
        string cacheRoot, Device? device = null, IProgress<LmTrainingStep>? progress = null, CancellationToken cancellationToken = default)
    {
        device ??= CPU;
        var watch = Stopwatch.StartNew();
        string folder = Path.Combine(cacheRoot, "base-" + CacheKey(world, tokenizer, options, device));
        var config = options.ConfigFor(tokenizer);
        string weights = Path.Combine(folder, "model.safetensors"), lossFile = Path.Combine(folder, "losses.json");
        if (File.Exists(weights) && File.Exists(lossFile))
        {
            var cachedModel = new Qwen2_5_VLForConditionalGeneration(config, CPU, ScalarType.Float32);
            CheckpointLoader.Load(cachedModel, folder);
            cachedModel.to(device);
            cachedModel.eval();
            var losses = JsonSerializer.Deserialize<List<LmTrainingStep>>(File.ReadAllText(lossFile))
                ?? throw new InvalidDataException($"{lossFile}: not a loss list.");
            return new PretrainedBase(cachedModel, folder, true, losses, watch.Elapsed);
        }

        torch.manual_seed(options.Seed);
        var model = new Qwen2_5_VLForConditionalGeneration(config, CPU, ScalarType.Float32);
        InitializeWeights(model);
        model.to(device);
        var processor = new Qwen2VLImageProcessor(options.Images);
        var grid = processor.PlanResize(world.Options.ImageSize, world.Options.ImageSize).Grid;
        var encoder = new LmExampleEncoder(tokenizer, grid.H, grid.W);
        using var trainer = new LanguageModelTrainer(model, processor, options.Training);
        var history = trainer.Train(Examples(world, encoder, options.FactRepeats, options.VariedContexts), progress, cancellationToken);

        Directory.CreateDirectory(folder);
        CheckpointWriter.Save(model, folder, new CheckpointSaveOptions { Config = config });
        File.WriteAllText(lossFile, JsonSerializer.Serialize(history));
        return new PretrainedBase(model, folder, false, history, watch.Elapsed);
    }
}
