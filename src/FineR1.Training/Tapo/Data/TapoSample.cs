using FineR1.Core.Imaging;

namespace FineR1.Training.Tapo.Data;

/// <summary>
/// One TAPO training row (docs/method.md §5.1): the problem text (with its <c>&lt;image&gt;</c> placeholder), the ground-truth
/// sub-category, and the triplet of images. Positive and negative must have the anchor's size, because the prompt ids
/// and mRoPE positions are computed once from the anchor and reused for the other two (docs/method.md §5.1 README, §5.8);
/// <see cref="Create"/> resizes them.
/// </summary>
/// <param name="Problem">User text, e.g. <c>"&lt;image&gt; Based on this image, what species of bird is shown?"</c>.</param>
/// <param name="Answer">Ground truth (the reward checks it is contained in the answer tag).</param>
/// <param name="Anchor">The anchor x.</param>
/// <param name="Positive">x_pos: another image of the same sub-category, same size as the anchor.</param>
/// <param name="Negative">x_neg: an image of a different (visually similar) sub-category, same size as the anchor.</param>
/// <param name="Id">A stable name for logs and group uids (file name, row index).</param>
public sealed record TapoSample(string Problem, string Answer, RgbImage Anchor, RgbImage Positive, RgbImage Negative, string Id)
{
    /// <summary>
    /// Builds a sample and resizes <paramref name="positive"/> and <paramref name="negative"/> to the anchor's width and
    /// height (bicubic, <paramref name="compatibility"/>) when they differ, as the reference data requires.
    /// </summary>
    /// <example>anchor 112×84, positive 200×150 → positive becomes 112×84; an already 112×84 negative is kept as is.</example>
    public static TapoSample Create(string problem, string answer, RgbImage anchor, RgbImage positive, RgbImage negative, string id,
        ResampleCompatibility compatibility = ResampleCompatibility.Pillow)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(anchor);
        return new TapoSample(problem, answer, anchor, ToAnchorSize(positive, anchor, compatibility),
            ToAnchorSize(negative, anchor, compatibility), id);
    }

    /// <summary>True when positive and negative have the anchor's width and height.</summary>
    public bool HasUniformSize =>
        Positive.Width == Anchor.Width && Positive.Height == Anchor.Height &&
        Negative.Width == Anchor.Width && Negative.Height == Anchor.Height;

    /// <summary><paramref name="image"/> resized to <paramref name="anchor"/>'s size (the same instance when it already matches).</summary>
    public static RgbImage ToAnchorSize(RgbImage image, RgbImage anchor, ResampleCompatibility compatibility = ResampleCompatibility.Pillow)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(anchor);
        return image.Width == anchor.Width && image.Height == anchor.Height
            ? image
            : BicubicResampler.Resize(image, anchor.Width, anchor.Height, compatibility);
    }
}
