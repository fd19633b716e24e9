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
        foreach (var (piece, _) in Pieces(messages, addGenerationPrompt, expandVisionPads, addVisionId, spatialMergeSize)) text.Append(piece);
        return text.ToString();
    }

    /// <summary>
    /// Token ids of the rendered chat with the SFT assistant mask. Each run of non-target text and each assistant target
    /// (content + <c>&lt;|im_end|&gt;\n</c>) is encoded on its own and the ids are joined, as LLaMA-Factory's
    /// <c>qwen2_vl</c> template does. This equals encoding the whole text except when an assistant content starts with
    /// whitespace holding a newline (the whole-text encoding would merge it with the <c>\n</c> after "assistant").
    /// </summary>
    public ChatEncoding Encode(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false, bool addVisionId = false)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        var chunk = new StringBuilder();
        var chunkIsTarget = false;

        void Flush()
        {
            if (chunk.Length == 0) return;
            var encoded = _tokenizer.Encode(chunk.ToString());
            ids.AddRange(encoded);
            mask.AddRange(Enumerable.Repeat(chunkIsTarget, encoded.Length));
            chunk.Clear();
        }

        foreach (var (piece, isTarget) in Pieces(messages, addGenerationPrompt, expandVisionPads: true, addVisionId, _spatialMergeSize))
        {
            if (isTarget != chunkIsTarget) Flush();
            chunkIsTarget = isTarget;
            chunk.Append(piece);
        }
        Flush();
        return new ChatEncoding([.. ids], [.. mask]);
    }

    /// <summary>The rendered text in pieces, each flagged true when it belongs to an assistant target.</summary>
    private static IEnumerable<(string Text, bool IsTarget)> Pieces(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
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
                yield return ($"{QwenSpecialTokens.ImStart}system\n{DefaultSystemPrompt}{QwenSpecialTokens.ImEnd}\n", false);

            var isAssistant = message.Role == "assistant";
            yield return ($"{QwenSpecialTokens.ImStart}{message.Role}\n", false);
            foreach (var part in message.Content)
            {
                switch (part)
                {
                    case TextContent t:
                        yield return (t.Text, isAssistant);
                        break;
                    case ImageContent image:
                        images++;
                        yield return (Vision(addVisionId ? $"Picture {images}: " : "", QwenSpecialTokens.ImagePad,
                            expandVisionPads ? image.PadTokenCount(spatialMergeSize) : 1), isAssistant);
                        break;
                    case VideoContent video:
                        videos++;
                        yield return (Vision(addVisionId ? $"Video {videos}: " : "", QwenSpecialTokens.VideoPad,
                            expandVisionPads ? video.PadTokenCount(spatialMergeSize) : 1), isAssistant);
                        break;
                    case null:
                        throw new ArgumentException($"messages[{m}] has a null content part.", nameof(messages));
                    default:
                        throw new ArgumentException($"messages[{m}] has an unsupported content part {part.GetType().Name}.", nameof(messages));
                }
            }
            yield return ($"{QwenSpecialTokens.ImEnd}\n", isAssistant);
        }
        if (addGenerationPrompt) yield return ($"{QwenSpecialTokens.ImStart}assistant\n", false);
    }

    private static string Vision(string label, string pad, int count)
    {
        var text = new StringBuilder(label.Length + 32 + pad.Length * count);
        text.Append(label).Append(QwenSpecialTokens.VisionStart);
        for (var i = 0; i < count; i++) text.Append(pad);
        return text.Append(QwenSpecialTokens.VisionEnd).ToString();
    }
}
