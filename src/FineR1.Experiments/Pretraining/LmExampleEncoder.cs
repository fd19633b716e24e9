using FineR1.Core.Imaging;
using FineR1.Core.Processing;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// Turns captions, facts and chats into <see cref="LmExample"/>s: chats through <see cref="Qwen2_5_VLProcessor"/> (loss
/// on the assistant turn), plain text with the tokenizer alone (loss on every token, then <c>&lt;|endoftext|&gt;</c>).
/// Every image of the demo world has one size, so its grid is fixed and no pixels are needed to encode.
/// </summary>
public sealed class LmExampleEncoder
{
    /// <summary>The instruction of a caption example's user turn.</summary>
    public const string CaptionInstruction = "Describe the object in the image.";

    private readonly Qwen2_5_VLProcessor _processor;
    private readonly VisionGrid _grid;

    /// <summary>Creates an encoder for images of one fixed grid (1, <paramref name="imageGridH"/>, <paramref name="imageGridW"/>)
    /// over a processor with the checkpoint's settings.</summary>
    /// <param name="tokenizer">The Qwen tokenizer.</param>
    /// <param name="imageGridH">Patch rows of every image (112 px → 8).</param>
    /// <param name="imageGridW">Patch columns of every image.</param>
    public LmExampleEncoder(QwenTokenizer tokenizer, int imageGridH, int imageGridW)
    {
        _processor = new Qwen2_5_VLProcessor(tokenizer);
        _grid = new VisionGrid(1, imageGridH, imageGridW);
    }

    /// <summary>The tokenizer.</summary>
    public QwenTokenizer Tokenizer => _processor.Tokenizer;

    /// <summary>The image content every image of this encoder gets.</summary>
    public ImageContent Image => new(_grid);

    /// <summary>Image + <see cref="CaptionInstruction"/> → caption (loss on the caption and its <c>&lt;|im_end|&gt;</c>).</summary>
    public LmExample Caption(string imagePath, string caption) => Chat(null, imagePath, CaptionInstruction, caption);

    /// <summary>Plain text, every token supervised, closed by <c>&lt;|endoftext|&gt;</c>.</summary>
    public LmExample Text(string text)
    {
        var ids = Tokenizer.Encode(text).Append(Tokenizer.EndOfTextId).ToArray();
        return new LmExample(ids, ids.Select(i => (long)i).ToArray(), null);
    }

    /// <summary>A chat of (system), user (image first, then text) and assistant; loss on the assistant turn.</summary>
    /// <param name="system">System prompt, or null for the template's default.</param>
    /// <param name="imagePath">The image, or null.</param>
    /// <param name="user">User text; the image goes at its one <c>&lt;image&gt;</c> placeholder, or first when there is none.</param>
    /// <param name="assistant">The target.</param>
    public LmExample Chat(string? system, string? imagePath, string user, string assistant)
    {
        var enc = _processor.Encode([UserMessage(imagePath is not null, user), ChatMessage.Assistant(assistant)],
            imagePath is null ? [] : [_grid], systemPrompt: system);
        return new LmExample(enc.InputIds, enc.Labels(), imagePath);
    }

    /// <summary>
    /// <paramref name="example"/> (a <see cref="Chat"/> whose assistant turn is <paramref name="assistant"/>) with the
    /// tokens of <paramref name="span"/>, the first occurrence of that text in the assistant turn, left out of the loss
    /// (they stay in the input). The span must start and end on token boundaries: encoding the text before it, the span
    /// and the text after it separately must give the assistant's tokens.
    /// </summary>
    /// <exception cref="ArgumentException">The span is not in the turn or cuts a token.</exception>
    public LmExample WithoutLossOn(LmExample example, string assistant, string span)
    {
        int at = assistant.IndexOf(span, StringComparison.Ordinal);
        if (at < 0 || span.Length == 0) throw new ArgumentException($"\"{span}\" is not in the assistant turn.", nameof(span));
        int[] before = Tokenizer.Encode(assistant[..at]), inside = Tokenizer.Encode(span), after = Tokenizer.Encode(assistant[(at + span.Length)..]);
        int[] whole = Tokenizer.Encode(assistant);
        if (!before.Concat(inside).Concat(after).SequenceEqual(whole))
            throw new ArgumentException($"\"{span}\" does not start and end on token boundaries of the assistant turn.", nameof(span));
        int first = Array.FindIndex(example.Labels, l => l != FineR1.Core.Modeling.LanguageModelLoss.IgnoreIndex);
        if (first < 0 || !example.InputIds.Skip(first).Take(whole.Length).SequenceEqual(whole))
            throw new ArgumentException("the example's supervised tokens do not start with the assistant turn.", nameof(example));
        var labels = (long[])example.Labels.Clone();
        for (int i = 0; i < inside.Length; i++) labels[first + before.Length + i] = FineR1.Core.Modeling.LanguageModelLoss.IgnoreIndex;
        return example with { Labels = labels };
    }

    /// <summary>Token ids of a generation prompt: (system), user with the image first, then the assistant header.</summary>
    public int[] Prompt(string? system, bool withImage, string user)
    {
        return _processor.Encode([UserMessage(withImage, user)], withImage ? [_grid] : [], addGenerationPrompt: true, system).InputIds;
    }

    private ChatMessage UserMessage(bool withImage, string user)
    {
        // One placeholder: the image goes where it stands (TAPO's prompts: "<image> question…"); none: image first.
        if (withImage && user.Split(ChatMessage.ImagePlaceholder).Length == 2) return ChatMessage.WithImagePlaceholders("user", user, [new ImageContent()]);
        string text = user.Replace(ChatMessage.ImagePlaceholder, "").Trim();
        return withImage ? ChatMessage.User(new ImageContent(), new TextContent(text)) : ChatMessage.User(text);
    }
}
