namespace FineR1.Core.Imaging;

/// <summary>
/// HF <c>smart_resize</c> (transformers <c>models/qwen2_vl/image_processing_qwen2_vl.py</c>): picks the size an image
/// is resized to so both sides are multiples of <c>factor</c> (patch 14 × merge 2 = 28), the pixel count lies in
/// [<c>minPixels</c>, <c>maxPixels</c>] and the aspect ratio is kept as closely as possible.
/// </summary>
/// <remarks>
/// Worked examples (factor 28): 150×97 (w×h), min 3136, max 50176 → round(97/28)=3, round(150/28)=5 → 84×140,
/// inside the limits, so 140 wide × 84 high. 10×10 with min 3136: rounding gives 0×0 &lt; min, so
/// beta = sqrt(3136/100) = 5.6 and each side becomes ceil(10·5.6/28)·28 = 56: a 56×56 image.
/// Python's <c>round</c> is round-half-to-even, as is <see cref="Math.Round(double)"/>.
/// </remarks>
public static class SmartResize
{
    /// <summary>The largest allowed ratio of the long side to the short side.</summary>
    public const double MaxAspectRatio = 200;

    /// <summary>Computes <c>(height, width)</c> after resizing, exactly as transformers 5.x <c>smart_resize</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Non-positive sizes or factor.</exception>
    /// <exception cref="ImageProcessingException">Aspect ratio above 200 (HF raises <c>ValueError</c>).</exception>
    public static (int Height, int Width) Compute(int height, int width, int factor = 28, long minPixels = 56 * 56,
        long maxPixels = 14 * 14 * 4 * 1280, string? source = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(factor);
        double ratio = (double)Math.Max(height, width) / Math.Min(height, width);
        if (ratio > MaxAspectRatio)
            throw new ImageProcessingException(
                $"absolute aspect ratio must be smaller than 200, got {ratio} ({width}x{height}).", source);
        long hBar = (long)Math.Round((double)height / factor) * factor;
        long wBar = (long)Math.Round((double)width / factor) * factor;
        double area = (double)((long)height * width);
        if (hBar * wBar > maxPixels)
        {
            double beta = Math.Sqrt(area / maxPixels);
            hBar = Math.Max(factor, (long)Math.Floor(height / beta / factor) * factor);
            wBar = Math.Max(factor, (long)Math.Floor(width / beta / factor) * factor);
        }
        else if (hBar * wBar < minPixels)
        {
            double beta = Math.Sqrt(minPixels / area);
            hBar = (long)Math.Ceiling(height * beta / factor) * factor;
            wBar = (long)Math.Ceiling(width * beta / factor) * factor;
        }
        return (checked((int)hBar), checked((int)wBar));
    }
}
