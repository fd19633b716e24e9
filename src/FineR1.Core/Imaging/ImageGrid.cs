namespace FineR1.Core.Imaging;

/// <summary>
/// An image's patch grid, HF <c>image_grid_thw</c>: <c>(1, resized_height / 14, resized_width / 14)</c> for a still image.
/// </summary>
/// <param name="T">Temporal patches (1 for an image).</param>
/// <param name="H">Patch rows.</param>
/// <param name="W">Patch columns.</param>
public readonly record struct ImageGrid(int T, int H, int W)
{
    /// <summary>Rows of <c>pixel_values</c> this image contributes: <c>T * H * W</c>.</summary>
    public int PatchCount => T * H * W;

    /// <summary>LLM tokens after the 2×2 patch merger: <c>T * H * W / mergeSize²</c> (the number of <c>&lt;|image_pad|&gt;</c> tokens).</summary>
    public int TokenCount(int mergeSize = 2) => PatchCount / (mergeSize * mergeSize);
}
