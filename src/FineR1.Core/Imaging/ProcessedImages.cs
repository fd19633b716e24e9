using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Imaging;

/// <summary>
/// The processor's output for one or more images, as HF's <c>BatchFeature</c>: <c>pixel_values</c>
/// <c>[sum of patches, C·T·P·P = 1176]</c> float32 on the CPU and <c>image_grid_thw</c> <c>[images, 3]</c> int64.
/// Owns its tensors: dispose it (or move them out with <see cref="To"/>).
/// </summary>
public sealed class ProcessedImages : IDisposable
{
    /// <summary><c>[patches, 1176]</c>: every image's rows, concatenated in input order.</summary>
    public Tensor PixelValues { get; private set; }
    /// <summary><c>[images, 3]</c> int64: (t, h, w) per image.</summary>
    public Tensor ImageGridThw { get; private set; }
    /// <summary>Grids per image (the same numbers as <see cref="ImageGridThw"/>).</summary>
    public IReadOnlyList<VisionGrid> Grids { get; }
    /// <summary>Merge size the token counts use.</summary>
    public int MergeSize { get; }

    /// <summary>Wraps already-built tensors (used by <see cref="Qwen2VLImageProcessor"/>).</summary>
    public ProcessedImages(Tensor pixelValues, Tensor imageGridThw, IReadOnlyList<VisionGrid> grids, int mergeSize)
    {
        PixelValues = pixelValues; ImageGridThw = imageGridThw; Grids = grids; MergeSize = mergeSize;
    }

    /// <summary><c>&lt;|image_pad|&gt;</c> tokens each image needs in the prompt.</summary>
    public IReadOnlyList<int> TokenCounts => Grids.Select(g => g.TokenCount(MergeSize)).ToArray();

    /// <summary>
    /// Moves (and optionally casts) <see cref="PixelValues"/> to <paramref name="device"/> and
    /// <paramref name="dtype"/> (e.g. CUDA, bfloat16); the grid stays int64. Replaces the held tensors and returns this.
    /// </summary>
    public ProcessedImages To(Device device, ScalarType? dtype = null)
    {
        var pixels = PixelValues.to(dtype ?? PixelValues.dtype, device);
        if (!ReferenceEquals(pixels, PixelValues)) { PixelValues.Dispose(); PixelValues = pixels; }
        var grid = ImageGridThw.to(device);
        if (!ReferenceEquals(grid, ImageGridThw)) { ImageGridThw.Dispose(); ImageGridThw = grid; }
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        PixelValues.Dispose();
        ImageGridThw.Dispose();
    }
}
