namespace FineR1.Core.Text.Chat;

/// <summary>One chat turn: a role (<c>system</c>, <c>user</c>, <c>assistant</c>) and its content parts.</summary>
/// <param name="Role">The role name, rendered verbatim after <c>&lt;|im_start|&gt;</c>.</param>
/// <param name="Content">The parts, rendered in order.</param>
public sealed record ChatMessage(string Role, IReadOnlyList<ChatContent> Content)
{
    /// <summary>The placeholder LLaMA-Factory and the TAPO data use for an image inside text.</summary>
    public const string ImagePlaceholder = "<image>";

    /// <summary>A system turn with text.</summary>
    public static ChatMessage System(string text) => new("system", [new TextContent(text)]);

    /// <summary>A user turn with text only.</summary>
    public static ChatMessage User(string text) => new("user", [new TextContent(text)]);

    /// <summary>A user turn from parts, e.g. <c>User(new ImageContent(new VisionGrid(1, 32, 32)), new TextContent("What bird is this?"))</c>.</summary>
    public static ChatMessage User(params ChatContent[] parts) => new("user", parts);

    /// <summary>An assistant turn with text.</summary>
    public static ChatMessage Assistant(string text) => new("assistant", [new TextContent(text)]);

    /// <summary>
    /// A turn from text holding <c>&lt;image&gt;</c> placeholders, the k-th standing for <paramref name="images"/>[k]:
    /// the text is split at each placeholder, an image part goes at each split point and empty text pieces are dropped
    /// (TAPO's <c>_build_messages</c>; LLaMA-Factory's <c>qwen2_vl</c> plugin renders the same string).
    /// </summary>
    /// <example><c>"&lt;image&gt; Based on this image, what model of car is shown?"</c> →
    /// [image, text " Based on this image, what model of car is shown?"].</example>
    /// <exception cref="ArgumentException">The number of placeholders differs from the number of images.</exception>
    public static ChatMessage WithImagePlaceholders(string role, string text, IReadOnlyList<ImageContent> images)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(images);
        var pieces = text.Split(ImagePlaceholder);
        if (pieces.Length - 1 != images.Count)
            throw new ArgumentException($"The text has {pieces.Length - 1} {ImagePlaceholder} placeholder(s) but {images.Count} image(s) were given.", nameof(images));
        var parts = new List<ChatContent>();
        for (var i = 0; i < pieces.Length; i++)
        {
            if (i > 0) parts.Add(images[i - 1]);
            if (pieces[i].Length > 0) parts.Add(new TextContent(pieces[i]));
        }
        return new ChatMessage(role, parts);
    }
}
