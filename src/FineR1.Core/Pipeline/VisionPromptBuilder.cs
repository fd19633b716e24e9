using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Processing;
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
/// The evaluation's prompt shape over <see cref="Qwen2_5_VLProcessor"/> (docs/processor.md): one user turn
/// <c>[image, text]</c> (image first), Qwen's default system prompt unless one is given, and the assistant generation
/// prefix.
/// </summary>
public sealed class VisionPromptBuilder
{
    private readonly Qwen2_5_VLProcessor _processor;

    /// <summary>Creates a builder over a processor.</summary>
    public VisionPromptBuilder(Qwen2_5_VLProcessor processor) =>
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));

    /// <summary>Builds the prompt for an image from a file, encoded bytes, a bitmap or a decoded image (<see cref="ImageInput"/>;
    /// a path converts implicitly).</summary>
    /// <param name="image">The image.</param>
    /// <param name="text">The user text (e.g. <c>FineR1Prompts.ClosedWorld(...)</c>).</param>
    /// <param name="systemPrompt">A system message; null gives Qwen's default "You are a helpful assistant." (as the evaluation).</param>
    /// <exception cref="ImageProcessingException">The image is missing, empty or not decodable.</exception>
    public VisionPrompt Build(ImageInput image, string text, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(text);
        var inputs = _processor.Apply([ChatMessage.User(new ImageContent(), new TextContent(text))], [image],
            addGenerationPrompt: true, systemPrompt);
        return new VisionPrompt(inputs.ToGenerationPrompt(), inputs.Images!, inputs.Chat);
    }

    /// <summary>Builds the prompt for a decoded image.</summary>
    public VisionPrompt Build(RgbImage image, string text, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Build(ImageInput.FromImage(image), text, systemPrompt);
    }
}
