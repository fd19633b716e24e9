namespace FineR1.Core.Imaging;

/// <summary>
/// The pixel-budget resize the reference applies to every training image before the Qwen processor sees it:
/// LLaMA-Factory's <c>_preprocess_image</c> (Stage-1 SFT, 1,024 … 589,824 px, plus its Qwen2-VL rules: sides of at least
/// 28 px, aspect ratio at most 200) and EasyR1's <c>process_image</c> (TAPO, 200,704 … 1,003,520 px). An image above the
/// budget is scaled by √(max / (w·h)), one below by √(min / (w·h)), each side truncated to an integer, with Pillow's
/// bicubic <c>Image.resize</c>; the processor (its own limits, 3,136 … 12,845,056 px) then rounds the sides to multiples
/// of 28 and resizes again.
/// </summary>
/// <remarks>
/// Handing the budget to the processor instead (its <c>min_pixels</c>/<c>max_pixels</c>) is not the same: smart_resize
/// floors (or ceils) to a multiple of 28 where the reference rounds the pre-scaled sides, so grids can differ by a patch
/// row or column, and large images get 5–10 % fewer tokens.
/// </remarks>
/// <example>A 1,000 × 800 photo in SFT (max 589,824 px): factor √(589,824 / 800,000) = 0.8587 → 858 × 686 (Pillow
/// bicubic) → the processor rounds to 868 × 672 → 31 × 24 = 744 tokens. With the budget in the processor instead:
/// 840 × 672, 720 tokens.</example>
/// <param name="MinPixels">Smallest area; smaller images are scaled up.</param>
/// <param name="MaxPixels">Largest area; larger images are scaled down.</param>
/// <param name="QwenSideRules">LLaMA-Factory's Qwen2-VL plugin rules (SFT only): a side below 28 px is raised to 28, an
/// aspect ratio above 200 is cut to 180.</param>
public sealed record ImagePreScaling(long MinPixels, long MaxPixels, bool QwenSideRules = false)
{
    /// <summary>LLaMA-Factory's defaults, used by Fine-R1's Stage-1 SFT: 32·32 … 768·768 px, Qwen2-VL side rules.</summary>
    public static ImagePreScaling Sft => new(32 * 32, 768 * 768, QwenSideRules: true);

    /// <summary>EasyR1's limits in Fine-R1's TAPO config: 256·28·28 … 1280·28·28 px.</summary>
    public static ImagePreScaling Tapo => new(200_704, 1_003_520);

    /// <summary>The image the reference hands to its processor.</summary>
    public RgbImage Apply(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (Area(image) > MaxPixels) image = Scale(image, Math.Sqrt((double)MaxPixels / Area(image)));
        if (Area(image) < MinPixels) image = Scale(image, Math.Sqrt((double)MinPixels / Area(image)));
        if (!QwenSideRules) return image;
        if (Math.Min(image.Width, image.Height) < 28) image = Resize(image, Math.Max(image.Width, 28), Math.Max(image.Height, 28));
        if (image.Width / (double)image.Height > 200) image = Resize(image, image.Height * 180, image.Height);
        if (image.Height / (double)image.Width > 200) image = Resize(image, image.Width, image.Width * 180);
        return image;
    }

    private static long Area(RgbImage image) => (long)image.Width * image.Height;

    // Python: int(image.width * resize_factor) — truncation of the same double product.
    private static RgbImage Scale(RgbImage image, double factor) =>
        Resize(image, Math.Max(1, (int)(image.Width * factor)), Math.Max(1, (int)(image.Height * factor)));

    private static RgbImage Resize(RgbImage image, int width, int height) =>
        width == image.Width && height == image.Height ? image : BicubicResampler.Resize(image, width, height, ResampleCompatibility.Pillow);
}
