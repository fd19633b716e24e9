using System.Diagnostics;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Diagnostics;
using FineR1.Core.Generation;
using FineR1.Core.Hosting;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Native;
using FineR1.Core.Processing;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace FineR1.Core.Pipeline;

/// <summary>
/// Everything needed to run a Qwen2.5-VL / Fine-R1 checkpoint: its config, the model with its weights (vision tower in
/// <c>model.model.visual</c>), the tokenizer and chat template, and the image processor. Owns the model: disposing the
/// bundle disposes it.
/// </summary>
/// <example>
/// <code>
/// using var bundle = FineR1Model.Load("/models/Fine-R1-3B");   // CUDA + bfloat16 when a GPU is visible, else CPU + float32
/// using var prompt = bundle.Prompts.Build("bird.jpg", FineR1Prompts.OpenWorld("What bird is this?"));
/// using var inputs = GenerationInputs.LeftPad([prompt.Prompt], GenerationOptions.QwenEndOfTextTokenId, bundle.Device);
/// var result = SequenceGenerator.Generate(bundle.GenerationModel, inputs, new GenerationOptions { MaxNewTokens = 2048 });
/// </code>
/// </example>
public sealed class FineR1Model : IDisposable
{
    /// <summary>The model's configuration (<c>config.json</c>).</summary>
    public Qwen2_5_VLConfig Config { get; }
    /// <summary>The model with its weights, in evaluation mode.</summary>
    public Qwen2_5_VLForConditionalGeneration Model { get; }
    /// <summary>The Qwen tokenizer (Qwen2.5-VL's added tokens).</summary>
    public QwenTokenizer Tokenizer { get; }
    /// <summary>Turns chats and images into model inputs (the chat template and the image processor below).</summary>
    public Qwen2_5_VLProcessor Processor { get; }
    /// <summary>Qwen2.5-VL's chat template over <see cref="Tokenizer"/> (the <see cref="Processor"/>'s).</summary>
    public QwenChatTemplate ChatTemplate => Processor.ChatTemplate;
    /// <summary>The image processor (default: the <see cref="Qwen2VLImageProcessorOptions.FineR1Evaluation"/> preset; the <see cref="Processor"/>'s).</summary>
    public Qwen2VLImageProcessor ImageProcessor => Processor.ImageProcessor;
    /// <summary>Builds the evaluation's generation prompts (image + text) with <see cref="Processor"/>.</summary>
    public VisionPromptBuilder Prompts { get; }
    /// <summary>The model wrapped for <see cref="SequenceGenerator"/> (images through <c>model.model.visual</c>).</summary>
    public Qwen2_5_VLGenerationModel GenerationModel { get; }
    /// <summary>Device of the weights.</summary>
    public Device Device => GenerationModel.Device;
    /// <summary>dtype of the weights.</summary>
    public ScalarType DType => GenerationModel.DType;

    /// <summary>Bundles parts that are already built (e.g. a randomly initialised model in tests).</summary>
    /// <exception cref="ArgumentException">The tokenizer's image-pad id differs from the config's <c>image_token_id</c>.</exception>
    public FineR1Model(Qwen2_5_VLForConditionalGeneration model, QwenTokenizer tokenizer, Qwen2VLImageProcessor? imageProcessor = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.ImagePadId != model.Config.ImageTokenId)
            throw new ArgumentException(
                $"the tokenizer's <|image_pad|> id {tokenizer.ImagePadId} differs from the config's image_token_id {model.Config.ImageTokenId}.", nameof(tokenizer));
        Config = model.Config;
        Model = model;
        Tokenizer = tokenizer;
        Processor = new Qwen2_5_VLProcessor(tokenizer, imageProcessor ?? new Qwen2VLImageProcessor(Qwen2VLImageProcessorOptions.FineR1Evaluation));
        Prompts = new VisionPromptBuilder(Processor);
        GenerationModel = new Qwen2_5_VLGenerationModel(model);
        model.eval();
    }

    /// <summary>The dtype FineR1 uses when none is given: bfloat16 on CUDA (as the reference), float32 on CPU.</summary>
    public static ScalarType DefaultDType(Device device) => DeviceSelector.ResolveDType("auto", device);

    /// <summary>
    /// Loads a HuggingFace model folder: <c>config.json</c>, the safetensors checkpoint (sharded or not) and
    /// <c>tokenizer.json</c> (or <c>tokenizer.json.gz</c>), and <c>generation_config.json</c> when present.
    /// </summary>
    /// <param name="folder">The model folder, e.g. a local copy of Fine-R1-7B or Qwen2.5-VL-7B-Instruct.</param>
    /// <param name="device">Where the weights go; null: CUDA when TorchSharp sees a GPU, else CPU.</param>
    /// <param name="dtype">Weight dtype; null: <see cref="DefaultDType"/> (bfloat16 on CUDA, float32 on CPU).</param>
    /// <param name="imageOptions">Image preprocessing (default <see cref="Qwen2VLImageProcessorOptions.FineR1Evaluation"/>).</param>
    /// <param name="logger">Receives what was loaded, where, in which dtype and how long it took.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="LibTorchNotFoundException">No libtorch backend package in the application.</exception>
    /// <exception cref="ConfigurationException">Missing or invalid <c>config.json</c>.</exception>
    /// <exception cref="CheckpointException">Missing, corrupt or mismatching weights.</exception>
    /// <exception cref="TokenizerFormatException">Missing or invalid tokenizer.</exception>
    public static FineR1Model Load(string folder, Device? device = null, ScalarType? dtype = null,
        Qwen2VLImageProcessorOptions? imageOptions = null, ILogger? logger = null) =>
        Load(folder, new ModelLoadOptions { Device = device, DType = dtype, ImageOptions = imageOptions, WarmUp = false, Logger = logger },
            progress: null, CancellationToken.None);

    /// <summary>
    /// Loads a model folder (as <see cref="Load(string, Device?, ScalarType?, Qwen2VLImageProcessorOptions?, ILogger?)"/>)
    /// on a worker thread, reporting progress by stage, and by default warms the model up with one short generation.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled between stages (reading the weights is not interrupted).</exception>
    public static Task<FineR1Model> LoadAsync(string folder, ModelLoadOptions? options = null,
        IProgress<ModelLoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return Task.Run(() => Load(folder, options ?? new ModelLoadOptions(), progress, cancellationToken), cancellationToken);
    }

    private static FineR1Model Load(string folder, ModelLoadOptions options, IProgress<ModelLoadProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"model folder not found: {folder}");
        TorchSharpNativeLoader.EnsureInstalled();
        var logger = options.Logger ?? NullLogger.Instance;
        var device = options.Device ?? DeviceSelector.Resolve("auto");
        var dtype = options.DType ?? DefaultDType(device);
        var clock = Stopwatch.StartNew();
        logger.LogInformation(FineR1LogEvents.ModelLoading, "Loading model {Folder} on {Device} in {DType}", folder, device, dtype);

        progress?.Report(new ModelLoadProgress(ModelLoadStage.Config, 0.0));
        var (config, tokenizer) = CheckFolder(folder, device, dtype);   // config, tokenizer, weight files, memory
        ct.ThrowIfCancellationRequested();
        progress?.Report(new ModelLoadProgress(ModelLoadStage.Weights, 0.05));
        var model = new Qwen2_5_VLForConditionalGeneration(config, device, dtype);
        FineR1Model bundle;
        try
        {
            var report = CheckpointLoader.Load(model, folder);
            logger.LogDebug(FineR1LogEvents.CheckpointLoaded, "Read {Tensors} tensors ({Bytes} bytes, {GBps:F2} GB/s) from {Folder}",
                report.Loaded.Count, report.BytesRead, report.GigabytesPerSecond, folder);
            bundle = new FineR1Model(model, tokenizer, new Qwen2VLImageProcessor(options.ImageOptions ?? Qwen2VLImageProcessorOptions.FineR1Evaluation))
            {
                GenerationConfig = GenerationConfig.Load(folder),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
        logger.LogInformation(FineR1LogEvents.ModelLoaded, "Loaded {Folder} on {Device} in {DType}: {Parameters:N0} parameters in {Seconds:F1} s",
            folder, device, dtype, model.parameters().Sum(p => p.numel()), clock.Elapsed.TotalSeconds);
        try
        {
            if (options.WarmUp)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report(new ModelLoadProgress(ModelLoadStage.WarmUp, 0.95));
                var warm = Stopwatch.StartNew();
                bundle.WarmUp();
                logger.LogInformation(FineR1LogEvents.ModelWarmedUp, "Warm-up generation took {Milliseconds:F0} ms", warm.Elapsed.TotalMilliseconds);
            }
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
        progress?.Report(new ModelLoadProgress(ModelLoadStage.Done, 1.0));
        return bundle;
    }

    /// <summary>
    /// Runs one short generation on a small blank image, so that the first real request does not pay for one-time
    /// set-up (kernel selection, allocator growth, lazy initialisation in libtorch).
    /// </summary>
    public void WarmUp()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int side = 56;
        var image = new RgbImage(side, side, new byte[side * side * 3]);
        using var prompt = Prompts.Build(image, "Warm-up.");
        using var inputs = GenerationInputs.LeftPad([prompt.Prompt], GenerationOptions.QwenEndOfTextTokenId, Device);
        SequenceGenerator.Generate(GenerationModel, inputs, new GenerationOptions { MaxNewTokens = 2 });
    }

    /// <summary>The folder's <c>generation_config.json</c> (decoding defaults that explicit options override; see
    /// <see cref="Generation.GenerationConfig"/>), or null when there is none or the model was not loaded from a folder.</summary>
    public GenerationConfig? GenerationConfig { get; init; }

    /// <summary>
    /// Everything <see cref="Load(string, ModelLoadOptions, IProgress{ModelLoadProgress}?, CancellationToken)"/> checks
    /// before it allocates the model: the folder exists; <c>config.json</c> is
    /// valid and agrees with the tokenizer; the tokenizer loads; weights are present; the weights fit in the memory
    /// available on <paramref name="device"/> (see <see cref="ModelMemory.EnsureFits"/>). Command-line tools call it to
    /// refuse bad input before the slow load. Returns the config and tokenizer it read.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ConfigurationException">Missing or invalid <c>config.json</c>, or a model too large for the memory.</exception>
    /// <exception cref="CheckpointException">No weights in the folder.</exception>
    /// <exception cref="TokenizerFormatException">Missing or invalid tokenizer.</exception>
    public static (Qwen2_5_VLConfig Config, QwenTokenizer Tokenizer) CheckFolder(string folder, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"model folder not found: {folder}");
        TorchSharpNativeLoader.EnsureInstalled();
        var configFile = Path.Combine(folder, "config.json");
        var config = Qwen2_5_VLConfig.Load(configFile);
        var tokenizer = QwenTokenizer.Load(folder, QwenTokenizerOptions.Qwen2_5_VL);
        CheckAgainstTokenizer(config, tokenizer, configFile);
        if (!File.Exists(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName)) && !File.Exists(Path.Combine(folder, SafetensorsCheckpoint.IndexFileName)))
            throw new CheckpointException($"no {SafetensorsCheckpoint.SingleFileName} or {SafetensorsCheckpoint.IndexFileName} (the weights).", folder);
        ModelMemory.EnsureFits(config, device ?? CPU, dtype ?? ScalarType.Float32, configFile);
        return (config, tokenizer);
    }

    /// <summary>The config's special-token ids must be the tokenizer's, and its vocabulary must hold every token.</summary>
    private static void CheckAgainstTokenizer(Qwen2_5_VLConfig config, QwenTokenizer tokenizer, string configFile)
    {
        void Same(int configId, int tokenizerId, string field, string token)
        {
            if (configId != tokenizerId)
                throw new ConfigurationException($"'{field}' = {configId}, but the tokenizer's {token} is {tokenizerId}.", configFile);
        }
        Same(config.ImageTokenId, tokenizer.ImagePadId, "image_token_id", QwenSpecialTokens.ImagePad);
        Same(config.VideoTokenId, tokenizer.VideoPadId, "video_token_id", QwenSpecialTokens.VideoPad);
        Same(config.VisionStartTokenId, tokenizer.VisionStartId, "vision_start_token_id", QwenSpecialTokens.VisionStart);
        Same(config.VisionEndTokenId, tokenizer.VisionEndId, "vision_end_token_id", QwenSpecialTokens.VisionEnd);
        foreach (var (id, field) in new[] { (config.Text.BosTokenId, "bos_token_id"), (config.Text.EosTokenId, "eos_token_id") })
            if (id is { } value && (value < 0 || value >= config.Text.VocabSize))
                throw new ConfigurationException($"'{field}' = {value} is not a token id of the vocabulary [0, {config.Text.VocabSize}).", configFile);
        var largest = tokenizer.AddedTokens.Max(t => t.Id);
        if (config.Text.VocabSize <= largest)
            throw new ConfigurationException($"'vocab_size' = {config.Text.VocabSize} is smaller than the tokenizer's ids (up to {largest}).", configFile);
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
