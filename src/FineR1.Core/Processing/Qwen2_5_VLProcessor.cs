using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Processing;

/// <summary>
/// Turns a chat and its images into Qwen2.5-VL model inputs, as HF's <c>Qwen2_5_VLProcessor</c> (chat template +
/// tokenizer + <c>Qwen2VLImageProcessor</c>): each image is decoded (EXIF orientation per the image options), pre-scaled
/// when a <see cref="ImagePreScaling"/> is set, resized and patchified; the k-th <see cref="ImageContent"/> of the chat
/// is sized from the k-th image's grid and rendered as <c>&lt;|vision_start|&gt;</c> + t·h·w/4 <c>&lt;|image_pad|&gt;</c>
/// + <c>&lt;|vision_end|&gt;</c>; the ids come with the assistant mask SFT trains on. Inference, SFT, TAPO and the
/// demo's pretrainer all build their inputs here (see docs/processor.md).
/// </summary>
/// <remarks>
/// Special-token strings inside message text (<c>&lt;|im_end|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, …) are encoded as
/// plain text (the template's <see cref="QwenChatTemplate.SplitSpecialTokens"/>): user text cannot open or close a turn
/// or add image placeholders.
/// </remarks>
/// <example>
/// <code>
/// var processor = new Qwen2_5_VLProcessor(tokenizer);
/// ChatMessage[] chat = [ChatMessage.User(new ImageContent(), new TextContent("What bird is this?"))];
/// using var inputs = processor.Apply(chat, ["bird.jpg"], addGenerationPrompt: true);
/// // inputs.InputIds: system + user turn with 1·h·w/4 image pads + "&lt;|im_start|&gt;assistant\n"
/// // inputs.Images.PixelValues: [h·w, 1176]; inputs.Grids: [(1, h, w)]
/// </code>
/// </example>
public sealed class Qwen2_5_VLProcessor
{
    /// <summary>Creates the processor over <paramref name="tokenizer"/> with a new image processor.</summary>
    /// <param name="tokenizer">The Qwen tokenizer.</param>
    /// <param name="imageOptions">Image settings: min/max pixels, EXIF orientation, arithmetic (default: the checkpoint's).</param>
    /// <param name="preScaling">A pixel-budget resize before the image processor (training stages; null: none).</param>
    public Qwen2_5_VLProcessor(QwenTokenizer tokenizer, Qwen2VLImageProcessorOptions? imageOptions = null, ImagePreScaling? preScaling = null)
        : this(tokenizer, new Qwen2VLImageProcessor(imageOptions), preScaling) { }

    /// <summary>Creates the processor over <paramref name="tokenizer"/> and an existing image processor.</summary>
    public Qwen2_5_VLProcessor(QwenTokenizer tokenizer, Qwen2VLImageProcessor imageProcessor, ImagePreScaling? preScaling = null)
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        ImageProcessor = imageProcessor ?? throw new ArgumentNullException(nameof(imageProcessor));
        PreScaling = preScaling;
        ChatTemplate = new QwenChatTemplate(tokenizer, imageProcessor.Options.MergeSize);
    }

    /// <summary>The tokenizer (also decodes generated ids).</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The chat template (over <see cref="Tokenizer"/>, the image processor's merge size).</summary>
    public QwenChatTemplate ChatTemplate { get; }

    /// <summary>The image processor.</summary>
    public Qwen2VLImageProcessor ImageProcessor { get; }

    /// <summary>The pixel-budget resize applied to every decoded image before the image processor (null: none).</summary>
    public ImagePreScaling? PreScaling { get; }

    /// <summary>
    /// The model inputs for a chat and its images: ids (image blocks expanded), assistant mask, pixel values and grids.
    /// </summary>
    /// <param name="messages">The chat; its <see cref="ImageContent"/> parts (without grids) stand for <paramref name="images"/>, in order.</param>
    /// <param name="images">Files, encoded bytes, bitmaps or decoded images (<see cref="ImageInput"/>); may be empty.</param>
    /// <param name="addGenerationPrompt">Append <c>&lt;|im_start|&gt;assistant\n</c> (prompts for generation).</param>
    /// <param name="systemPrompt">A system turn put first; null leaves the chat as given (the template then inserts
    /// Qwen's default "You are a helpful assistant." unless the chat starts with a system turn).</param>
    /// <exception cref="ArgumentException">The number of image parts differs from the number of images, an image part
    /// holds a grid that is not its image's, the chat has a video part, a system prompt is given for a chat that has one,
    /// or the chat is malformed (no messages, empty role).</exception>
    /// <exception cref="ImageProcessingException">An image is missing, empty, corrupt, too large or too elongated.</exception>
    public Qwen2_5_VLInputs Apply(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ImageInput> images,
        bool addGenerationPrompt = false, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(images);
        CountImageParts(messages, images.Count);
        var processed = images.Count == 0 ? null : ProcessImages(images);
        try
        {
            var chat = Size(messages, processed?.Grids ?? [], systemPrompt);
            return new Qwen2_5_VLInputs(chat, ChatTemplate.Encode(chat, addGenerationPrompt), processed);
        }
        catch
        {
            processed?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Ids and assistant mask for a chat whose images' grids are already known (e.g. from <see cref="GridOf"/>), without
    /// computing pixels: SFT encodes the whole dataset this way and processes the pixels per batch.
    /// </summary>
    /// <param name="messages">The chat; the k-th <see cref="ImageContent"/> gets <paramref name="imageGrids"/>[k].</param>
    /// <param name="imageGrids">The images' grids, in order.</param>
    /// <param name="addGenerationPrompt">Append the assistant generation prefix.</param>
    /// <param name="systemPrompt">See <see cref="Apply"/>.</param>
    /// <exception cref="ArgumentException">As <see cref="Apply"/>.</exception>
    public ChatEncoding Encode(IReadOnlyList<ChatMessage> messages, IReadOnlyList<VisionGrid> imageGrids,
        bool addGenerationPrompt = false, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(imageGrids);
        CountImageParts(messages, imageGrids.Count);
        return ChatTemplate.Encode(Size(messages, imageGrids, systemPrompt), addGenerationPrompt);
    }

    /// <summary>Decodes, pre-scales and preprocesses images: <c>pixel_values</c> (rows concatenated in order) and <c>image_grid_thw</c>.</summary>
    /// <exception cref="ArgumentException">No images.</exception>
    /// <exception cref="ImageProcessingException">An image is missing, empty, corrupt, too large or too elongated.</exception>
    public ProcessedImages ProcessImages(IReadOnlyList<ImageInput> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("no images given.", nameof(images));
        return ImageProcessor.Process(images.Select(Load).ToArray(), images.Select(i => (string?)i?.Name).ToArray());
    }

    /// <summary>The grid <paramref name="image"/> gets (decoded and pre-scaled as <see cref="ProcessImages"/> does), without its pixels.</summary>
    /// <exception cref="ImageProcessingException">The image is missing, empty, corrupt, too large or too elongated.</exception>
    public VisionGrid GridOf(ImageInput image)
    {
        var decoded = Load(image);
        return ImageProcessor.PlanResize(decoded.Height, decoded.Width, image.Name).Grid;
    }

    // Decode (EXIF per the image options), then the training stages' pixel budget.
    private RgbImage Load(ImageInput image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var decoded = image.Decode(ImageProcessor.Options.ApplyExifOrientation);
        return PreScaling is null ? decoded : PreScaling.Apply(decoded);
    }

    private static void CountImageParts(IReadOnlyList<ChatMessage> messages, int images)
    {
        int parts = 0;
        foreach (var message in messages)
            foreach (var part in message?.Content ?? [])
            {
                if (part is ImageContent) parts++;
                else if (part is VideoContent) throw new ArgumentException("the processor does not take videos (a VideoContent part).", nameof(messages));
            }
        if (parts != images)
            throw new ArgumentException($"the chat has {parts} image part(s) but {images} image(s) were given.", nameof(messages));
    }

    // The chat with the k-th image part sized by grids[k], and the system prompt put first.
    private static IReadOnlyList<ChatMessage> Size(IReadOnlyList<ChatMessage> messages, IReadOnlyList<VisionGrid> grids, string? systemPrompt)
    {
        var chat = new List<ChatMessage>(messages.Count + 1);
        if (systemPrompt is not null)
        {
            if (messages.Count > 0 && messages[0]?.Role == "system")
                throw new ArgumentException("a system prompt was given for a chat that starts with a system turn.", nameof(systemPrompt));
            chat.Add(ChatMessage.System(systemPrompt));
        }
        int next = 0;
        foreach (var message in messages)
        {
            if (message is null || !message.Content.Any(p => p is ImageContent)) { chat.Add(message!); continue; }
            var parts = new List<ChatContent>(message.Content.Count);
            foreach (var part in message.Content)
            {
                if (part is not ImageContent image) { parts.Add(part); continue; }
                var grid = grids[next++];
                if (image.Grid is { } given && given != grid)
                    throw new ArgumentException($"image part {next - 1} has the grid {given}, but its image has {grid}.", nameof(messages));
                parts.Add(image.Grid is null ? new ImageContent(grid) : image);
            }
            chat.Add(message with { Content = parts });
        }
        return chat;
    }
}
