using System.Text;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Text.Chat;

/// <summary>
/// Qwen2.5-VL's chat template (ChatML), as its <c>chat_template.json</c> renders it:
/// <code>
/// &lt;|im_start|&gt;system
/// You are a helpful assistant.&lt;|im_end|&gt;            ← inserted when the first message is not a system message
/// &lt;|im_start|&gt;user
/// &lt;|vision_start|&gt;&lt;|image_pad|&gt;…&lt;|vision_end|&gt;What is this?&lt;|im_end|&gt;
/// &lt;|im_start|&gt;assistant
/// {response}&lt;|im_end|&gt;
/// </code>
/// The jinja template writes one <c>&lt;|image_pad|&gt;</c> per image and the processor expands it to
/// t·h·w/4; <see cref="Render"/> does both (or only the first with <c>expandVisionPads: false</c>).
/// </summary>
public sealed class QwenChatTemplate
{
    /// <summary>The system prompt the template inserts when the conversation has none.</summary>
    public const string DefaultSystemPrompt = "You are a helpful assistant.";

    private readonly QwenTokenizer _tokenizer;
    private readonly int _spatialMergeSize;

    /// <summary>
    /// How special-token strings written in message text (<c>&lt;|im_end|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, …) are
    /// encoded. True (the default): as plain text, like HF's <c>split_special_tokens=True</c>, so user text cannot open
    /// or close a chat turn or add image placeholders; the template's own markup still gives the control tokens.
    /// False: HF's default, where such strings become control tokens (then a stray <c>&lt;|image_pad|&gt;</c> makes
    /// <see cref="Encode"/> throw, since the pads no longer match the images).
    /// </summary>
    public bool SplitSpecialTokens { get; init; } = true;

    /// <summary>Creates the template over <paramref name="tokenizer"/>; <paramref name="spatialMergeSize"/> is the vision merger's (2).</summary>
    public QwenChatTemplate(QwenTokenizer tokenizer, int spatialMergeSize = 2)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        if (spatialMergeSize <= 0) throw new ArgumentOutOfRangeException(nameof(spatialMergeSize), spatialMergeSize, "must be positive");
        _spatialMergeSize = spatialMergeSize;
    }

    /// <summary>
    /// The chat as text, like <c>processor.apply_chat_template(messages, add_generation_prompt=...)</c> followed by the
    /// processor's pad expansion. <paramref name="addVisionId"/> writes "Picture k: " / "Video k: " before each item.
    /// </summary>
    /// <exception cref="ArgumentException">No messages, an empty role, or a bad vision grid.</exception>
    public static string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, bool expandVisionPads = true,
        bool addVisionId = false, int spatialMergeSize = 2)
    {
        var text = new StringBuilder();
        foreach (var (piece, _, _) in Pieces(messages, addGenerationPrompt, expandVisionPads, addVisionId, spatialMergeSize)) text.Append(piece);
        return text.ToString();
    }

    /// <summary>
    /// Token ids of the rendered chat with the SFT assistant mask. Each run of non-target text and each assistant target
    /// (content + <c>&lt;|im_end|&gt;\n</c>) is encoded on its own and the ids are joined, as LLaMA-Factory's
    /// <c>qwen2_vl</c> template does. This equals encoding the whole text except when an assistant content starts with
    /// whitespace holding a newline (the whole-text encoding would merge it with the <c>\n</c> after "assistant").
    /// Message text is encoded as <see cref="SplitSpecialTokens"/> says.
    /// </summary>
    /// <exception cref="ArgumentException">No messages, an empty role, a bad vision grid, or (with
    /// <see cref="SplitSpecialTokens"/> off) message text holding image or video pad tokens.</exception>
    public ChatEncoding Encode(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false, bool addVisionId = false)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        var chunk = new StringBuilder();
        var plainText = new List<(int Start, int Length)>();
        var chunkIsTarget = false;

        void Flush()
        {
            if (chunk.Length == 0) return;
            var encoded = _tokenizer.Encode(chunk.ToString(), plainText);
            ids.AddRange(encoded);
            mask.AddRange(Enumerable.Repeat(chunkIsTarget, encoded.Length));
            chunk.Clear();
            plainText.Clear();
        }

        foreach (var (piece, isTarget, isMessageText) in Pieces(messages, addGenerationPrompt, expandVisionPads: true, addVisionId, _spatialMergeSize))
        {
            if (isTarget != chunkIsTarget) Flush();
            chunkIsTarget = isTarget;
            if (isMessageText && SplitSpecialTokens) plainText.Add((chunk.Length, piece.Length));
            chunk.Append(piece);
        }
        Flush();
        CheckVisionPads(messages, ids);
        return new ChatEncoding([.. ids], [.. mask]);
    }

    /// <summary>The image (video) pad ids must be exactly those the images (videos) of the chat expand to.</summary>
    private void CheckVisionPads(IReadOnlyList<ChatMessage> messages, List<int> ids)
    {
        var parts = messages.SelectMany(m => m.Content).ToList();
        var expectedImage = parts.OfType<ImageContent>().Sum(i => i.PadTokenCount(_spatialMergeSize));
        var expectedVideo = parts.OfType<VideoContent>().Sum(v => v.PadTokenCount(_spatialMergeSize));
        int imagePad = _tokenizer.ImagePadId, videoPad = _tokenizer.VideoPadId;
        int image = ids.Count(id => id == imagePad), video = ids.Count(id => id == videoPad);
        if (image != expectedImage || video != expectedVideo)
            throw new ArgumentException(
                $"the chat's text holds {QwenSpecialTokens.ImagePad} or {QwenSpecialTokens.VideoPad} written as text " +
                $"({image} image / {video} video pad tokens for {expectedImage} / {expectedVideo} expected from its images and videos); " +
                "leave SplitSpecialTokens on (the default) to read such text as plain text.", nameof(messages));
    }

    /// <summary>
    /// The rendered text in pieces, each flagged when it belongs to an assistant target and when it is message text
    /// (role names and text content, as opposed to the template's markup and vision placeholders).
    /// </summary>
    private static IEnumerable<(string Text, bool IsTarget, bool IsMessageText)> Pieces(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
        bool expandVisionPads, bool addVisionId, int spatialMergeSize)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new ArgumentException("A chat needs at least one message.", nameof(messages));
        var images = 0;
        var videos = 0;
        for (var m = 0; m < messages.Count; m++)
        {
            var message = messages[m] ?? throw new ArgumentException($"messages[{m}] is null.", nameof(messages));
            if (string.IsNullOrEmpty(message.Role)) throw new ArgumentException($"messages[{m}] has no role.", nameof(messages));
            if (m == 0 && message.Role != "system")
                yield return ($"{QwenSpecialTokens.ImStart}system\n{DefaultSystemPrompt}{QwenSpecialTokens.ImEnd}\n", false, false);

            var isAssistant = message.Role == "assistant";
            yield return (QwenSpecialTokens.ImStart, false, false);
            yield return ($"{message.Role}\n", false, true);
            foreach (var part in message.Content)
            {
                switch (part)
                {
                    case TextContent t:
                        yield return (t.Text, isAssistant, true);
                        break;
                    case ImageContent image:
                        images++;
                        yield return (Vision(addVisionId ? $"Picture {images}: " : "", QwenSpecialTokens.ImagePad,
                            expandVisionPads ? image.PadTokenCount(spatialMergeSize) : 1), isAssistant, false);
                        break;
                    case VideoContent video:
                        videos++;
                        yield return (Vision(addVisionId ? $"Video {videos}: " : "", QwenSpecialTokens.VideoPad,
                            expandVisionPads ? video.PadTokenCount(spatialMergeSize) : 1), isAssistant, false);
                        break;
                    case null:
                        throw new ArgumentException($"messages[{m}] has a null content part.", nameof(messages));
                    default:
                        throw new ArgumentException($"messages[{m}] has an unsupported content part {part.GetType().Name}.", nameof(messages));
                }
            }
            yield return ($"{QwenSpecialTokens.ImEnd}\n", isAssistant, false);
        }
        if (addGenerationPrompt) yield return ($"{QwenSpecialTokens.ImStart}assistant\n", false, false);
    }

    private static string Vision(string label, string pad, int count)
    {
        var text = new StringBuilder(label.Length + 32 + pad.Length * count);
        text.Append(label).Append(QwenSpecialTokens.VisionStart);
        for (var i = 0; i < count; i++) text.Append(pad);
        return text.Append(QwenSpecialTokens.VisionEnd).ToString();
    }
}
