using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Training.Pretraining;

/// <summary>
/// Turns captions, facts and chats into <see cref="LmExample"/>s with the real Qwen chat template (loss on the
/// assistant turn) or as plain text (loss on every token, then <c>&lt;|endoftext|&gt;</c>).
/// </summary>
public sealed class LmExampleEncoder
{
    /// <summary>The instruction of a caption example's user turn.</summary>
    public const string CaptionInstruction = "Describe the object in the image.";

    private readonly QwenTokenizer _tokenizer;
    private readonly QwenChatTemplate _template;
    private readonly ImageContent _image;

    /// <summary>Creates an encoder for images of one fixed grid.</summary>
    /// <param name="tokenizer">The Qwen tokenizer.</param>
    /// <param name="imageGridH">Patch rows of every image (112 px → 8).</param>
    /// <param name="imageGridW">Patch columns of every image.</param>
    public LmExampleEncoder(QwenTokenizer tokenizer, int imageGridH, int imageGridW)
    {
        _tokenizer = tokenizer;
        _template = new QwenChatTemplate(tokenizer);
        _image = new ImageContent(1, imageGridH, imageGridW);
    }

    /// <summary>The tokenizer.</summary>
    public QwenTokenizer Tokenizer => _tokenizer;

    /// <summary>The image content every image of this encoder gets.</summary>
    public ImageContent Image => _image;

    /// <summary>Image + <see cref="CaptionInstruction"/> → caption (loss on the caption and its <c>&lt;|im_end|&gt;</c>).</summary>
    public LmExample Caption(string imagePath, string caption) => Chat(null, imagePath, CaptionInstruction, caption);

    /// <summary>Plain text, every token supervised, closed by <c>&lt;|endoftext|&gt;</c>.</summary>
    public LmExample Text(string text)
    {
        var ids = _tokenizer.Encode(text).Append(_tokenizer.EndOfTextId).ToArray();
        return new LmExample(ids, ids.Select(i => (long)i).ToArray(), null);
    }

    /// <summary>A chat of (system), user (image first, then text) and assistant; loss on the assistant turn.</summary>
    /// <param name="system">System prompt, or null for the template's default.</param>
    /// <param name="imagePath">The image, or null.</param>
    /// <param name="user">User text (a leading <c>&lt;image&gt;</c> placeholder is removed: the image goes first).</param>
    /// <param name="assistant">The target.</param>
    public LmExample Chat(string? system, string? imagePath, string user, string assistant)
    {
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(ChatMessage.System(system));
        messages.Add(UserMessage(imagePath is not null, user));
        messages.Add(ChatMessage.Assistant(assistant));
        var enc = _template.Encode(messages);
        return new LmExample(enc.InputIds, enc.Labels(), imagePath);
    }

    /// <summary>Token ids of a generation prompt: (system), user with the image first, then the assistant header.</summary>
    public int[] Prompt(string? system, bool withImage, string user)
    {
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(ChatMessage.System(system));
        messages.Add(UserMessage(withImage, user));
        return _template.Encode(messages, addGenerationPrompt: true).InputIds;
    }

    private ChatMessage UserMessage(bool withImage, string user)
    {
        string text = user.Replace(ChatMessage.ImagePlaceholder, "").Trim();
        return withImage ? ChatMessage.User(_image, new TextContent(text)) : ChatMessage.User(text);
    }
}
