using FineR1.Core.Imaging;

namespace FineR1.Core.Text.Chat;

/// <summary>One part of a chat message: text, an image or a video (HF's <c>{"type": ...}</c> content items).</summary>
public abstract record ChatContent;

/// <summary>A piece of text, rendered verbatim.</summary>
/// <param name="Text">The text.</param>
public sealed record TextContent(string Text) : ChatContent;

/// <summary>
/// An image, HF's <c>{"type": "image"}</c>. It is rendered as <c>&lt;|vision_start|&gt;</c> + N × <c>&lt;|image_pad|&gt;</c>
/// + <c>&lt;|vision_end|&gt;</c> with N = t·h·w / merge² of its <see cref="Grid"/> (merge = 2 for Qwen2.5-VL).
/// Give no grid when the images go through <see cref="Processing.Qwen2_5_VLProcessor"/>: it sizes the k-th image part
/// from the k-th image it processes. <see cref="QwenChatTemplate"/> alone needs the grid.
/// </summary>
/// <example>A 448×448 image after <c>smart_resize</c>: grid (1, 32, 32) → 1·32·32/4 = 256 pad tokens.</example>
/// <param name="Grid">The image's patch grid (<c>image_grid_thw</c> row), or null until the processor sizes it.</param>
public sealed record ImageContent(VisionGrid? Grid = null) : ChatContent
{
    /// <summary>Number of <c>&lt;|image_pad|&gt;</c> tokens: t·h·w / <paramref name="spatialMergeSize"/>².</summary>
    /// <exception cref="ArgumentException">No grid, a grid size that is not positive, or t·h·w not a multiple of merge².</exception>
    public int PadTokenCount(int spatialMergeSize = 2) =>
        (Grid ?? throw new ArgumentException("an image part has no grid: pass the images through Qwen2_5_VLProcessor, or give ImageContent its grid."))
        .TokenCount(spatialMergeSize);
}

/// <summary>A video with its <c>video_grid_thw</c> row; rendered like <see cref="ImageContent"/> with <c>&lt;|video_pad|&gt;</c>.</summary>
/// <param name="Grid">The video's patch grid.</param>
public sealed record VideoContent(VisionGrid Grid) : ChatContent
{
    /// <summary>Number of <c>&lt;|video_pad|&gt;</c> tokens: t·h·w / <paramref name="spatialMergeSize"/>².</summary>
    public int PadTokenCount(int spatialMergeSize = 2) => Grid.TokenCount(spatialMergeSize);
}
