namespace FineR1.Core.Text.Chat;

/// <summary>One part of a chat message: text, an image or a video (HF's <c>{"type": ...}</c> content items).</summary>
public abstract record ChatContent;

/// <summary>A piece of text, rendered verbatim.</summary>
/// <param name="Text">The text.</param>
public sealed record TextContent(string Text) : ChatContent;

/// <summary>
/// An image whose vision grid is known: <c>image_grid_thw</c> = (<paramref name="GridT"/>, <paramref name="GridH"/>,
/// <paramref name="GridW"/>) in 14-px patches. It is rendered as <c>&lt;|vision_start|&gt;</c> + N × <c>&lt;|image_pad|&gt;</c>
/// + <c>&lt;|vision_end|&gt;</c> with N = t·h·w / merge² (merge = 2 for Qwen2.5-VL).
/// </summary>
/// <example>A 448×448 image after <c>smart_resize</c>: grid (1, 32, 32) → 1·32·32/4 = 256 pad tokens.</example>
/// <param name="GridT">Temporal patches (1 for an image).</param>
/// <param name="GridH">Patch rows.</param>
/// <param name="GridW">Patch columns.</param>
public sealed record ImageContent(int GridT, int GridH, int GridW) : ChatContent
{
    /// <summary>Number of <c>&lt;|image_pad|&gt;</c> tokens: t·h·w / <paramref name="spatialMergeSize"/>².</summary>
    /// <exception cref="ArgumentException">A grid size is not positive or t·h·w is not a multiple of merge².</exception>
    public int PadTokenCount(int spatialMergeSize = 2) => VisionGrid.TokenCount(GridT, GridH, GridW, spatialMergeSize);
}

/// <summary>A video with its <c>video_grid_thw</c>; rendered like <see cref="ImageContent"/> with <c>&lt;|video_pad|&gt;</c>.</summary>
/// <param name="GridT">Temporal patches.</param>
/// <param name="GridH">Patch rows.</param>
/// <param name="GridW">Patch columns.</param>
public sealed record VideoContent(int GridT, int GridH, int GridW) : ChatContent
{
    /// <summary>Number of <c>&lt;|video_pad|&gt;</c> tokens: t·h·w / <paramref name="spatialMergeSize"/>².</summary>
    public int PadTokenCount(int spatialMergeSize = 2) => VisionGrid.TokenCount(GridT, GridH, GridW, spatialMergeSize);
}

internal static class VisionGrid
{
    public static int TokenCount(int t, int h, int w, int merge)
    {
        if (t <= 0 || h <= 0 || w <= 0) throw new ArgumentException($"Vision grid ({t}, {h}, {w}) must be positive.");
        if (merge <= 0) throw new ArgumentOutOfRangeException(nameof(merge), merge, "The spatial merge size must be positive.");
        var patches = (long)t * h * w;
        if (patches % (merge * merge) != 0)
            throw new ArgumentException($"Vision grid ({t}, {h}, {w}) has {patches} patches, not a multiple of merge² = {merge * merge}.");
        return checked((int)(patches / (merge * merge)));
    }
}
