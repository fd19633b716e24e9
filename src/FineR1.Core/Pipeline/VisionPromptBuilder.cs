using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;

namespace FineR1.Core.Pipeline;

/// <summary>
/// A generation prompt with its preprocessed images. Owns the pixel tensors: dispose it once the prompt has been turned
/// into <see cref="GenerationInputs"/> (which copies them).
/// </summary>
/// <param name="Prompt">Token ids (vision blocks expanded to the images' pad counts) and the images.</param>
/// <param name="Images">The preprocessed images (<c>pixel_values</c>, <c>image_grid_thw</c>).</param>
/// <param name="Chat">The chat the ids encode.</param>
public sealed record VisionPrompt(GenerationPrompt Prompt, ProcessedImages Images, IReadOnlyList<ChatMessage> Chat) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Images.Dispose();
}

/// <summary>
/// Turns an image and a user text into a Qwen2.5-VL generation prompt the way the Fine-R1 evaluation does (docs/method.md §3.3):
/// one user turn <c>[image, text]</c> (image first), Qwen's default system prompt unless one is given, and the
/// assistant generation prefix; the image block holds <c>t·h·w/4</c> <c>&lt;|image_pad|&gt;</c> tokens of its grid.
/// </summary>
public sealed class VisionPromptBuilder
{
    private readonly QwenChatTemplate _template;
    private readonly Qwen2VLImageProcessor _images;

    /// <summary>Creates a builder over a chat template and an image processor.</summary>
    public VisionPromptBuilder(QwenChatTemplate template, Qwen2VLImageProcessor images)
    {
        _template = template ?? throw new ArgumentNullException(nameof(template));
        _images = images ?? throw new ArgumentNullException(nameof(images));
    }

    /// <summary>Builds the prompt for an image file.</summary>
    /// <param name="imagePath">The image file.</param>
    /// <param name="text">The user text (e.g. <c>FineR1Prompts.ClosedWorld(...)</c>).</param>
    /// <param name="systemPrompt">A system message; null gives Qwen's default "You are a helpful assistant." (as the evaluation).</param>
    /// <exception cref="ImageProcessingException">The image is missing, empty or not decodable.</exception>
    public VisionPrompt Build(string imagePath, string text, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        return Build(_images.Process(imagePath), text, systemPrompt);
    }

    /// <summary>Builds the prompt for an image from a file, encoded bytes or a bitmap (<see cref="ImageInput"/>).</summary>
    /// <exception cref="ImageProcessingException">The image is missing, empty or not decodable.</exception>
    public VisionPrompt Build(ImageInput image, string text, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Build(_images.Process(image), text, systemPrompt);
    }

    /// <summary>Builds the prompt for a decoded image.</summary>
    public VisionPrompt Build(RgbImage image, string text, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Build(_images.Process(image), text, systemPrompt);
    }

    private VisionPrompt Build(ProcessedImages processed, string text, string? systemPrompt)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(text);
            var grid = processed.Grids[0];
            var user = ChatMessage.User(new ImageContent(grid.T, grid.H, grid.W), new TextContent(text));
            ChatMessage[] chat = systemPrompt is null ? [user] : [ChatMessage.System(systemPrompt), user];
            var ids = _template.Encode(chat, addGenerationPrompt: true).InputIds;
            var prompt = new GenerationPrompt(Array.ConvertAll(ids, i => (long)i),
                [new PromptImage(processed.PixelValues, [grid.T, grid.H, grid.W])]);
            return new VisionPrompt(prompt, processed, chat);
        }
        catch
        {
            processed.Dispose();
            throw;
        }
    }
}
