namespace FineR1.Core.Imaging;

/// <summary>
/// Settings of <see cref="Qwen2VLImageProcessor"/>; defaults are those of the Qwen2.5-VL checkpoints'
/// <c>preprocessor_config.json</c> (min_pixels 3136, max_pixels 12845056, patch 14, merge 2, temporal 2, CLIP mean/std).
/// </summary>
public sealed record Qwen2VLImageProcessorOptions
{
    /// <summary>Smallest pixel count after resizing (HF <c>min_pixels</c> / <c>size.shortest_edge</c>).</summary>
    public long MinPixels { get; init; } = 56 * 56;
    /// <summary>Largest pixel count after resizing (HF <c>max_pixels</c> / <c>size.longest_edge</c>).</summary>
    public long MaxPixels { get; init; } = 28 * 28 * 16384;
    /// <summary>Side of a vision patch in pixels.</summary>
    public int PatchSize { get; init; } = 14;
    /// <summary>Patches merged per side into one LLM token (so the resize factor is <c>PatchSize * MergeSize</c>).</summary>
    public int MergeSize { get; init; } = 2;
    /// <summary>Frames per temporal patch; a still image is repeated to fill it.</summary>
    public int TemporalPatchSize { get; init; } = 2;
    /// <summary>Per-channel mean (OpenAI CLIP).</summary>
    public float[] ImageMean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];
    /// <summary>Per-channel standard deviation (OpenAI CLIP).</summary>
    public float[] ImageStd { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];
    /// <summary>Multiplier applied to 0..255 values before normalising.</summary>
    public double RescaleFactor { get; init; } = 1.0 / 255;
    /// <summary>
    /// Whose arithmetic to reproduce: <see cref="ResampleCompatibility.Torchvision"/> (transformers 5.x default processor,
    /// the fixtures) or <see cref="ResampleCompatibility.Pillow"/> (transformers 4.x slow processor, Fine-R1's training
    /// and evaluation stack). Applies to the resize and to the order of the rescale/normalise arithmetic.
    /// </summary>
    public ResampleCompatibility Compatibility { get; init; } = ResampleCompatibility.Torchvision;
    /// <summary>Apply the EXIF orientation when decoding files (HF's <c>load_image</c> does).</summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>Fine-R1 evaluation (<c>qwen_vl_utils</c> defaults: 4·28·28 .. 16384·28·28, docs/method.md §2.3).</summary>
    public static Qwen2VLImageProcessorOptions FineR1Evaluation => new() { MinPixels = 4 * 28 * 28, MaxPixels = 16384 * 28 * 28, Compatibility = ResampleCompatibility.Pillow };

    /// <summary>Resize factor: both sides of the resized image are multiples of it (28).</summary>
    public int Factor => PatchSize * MergeSize;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (PatchSize <= 0 || MergeSize <= 0 || TemporalPatchSize <= 0)
            throw new ArgumentException($"patch ({PatchSize}), merge ({MergeSize}) and temporal ({TemporalPatchSize}) sizes must be positive.");
        if (MinPixels < 0 || MaxPixels <= 0 || MinPixels > MaxPixels)
            throw new ArgumentException($"need 0 <= MinPixels ({MinPixels}) <= MaxPixels ({MaxPixels}) and MaxPixels > 0.");
        if (ImageMean is not { Length: 3 } || ImageStd is not { Length: 3 })
            throw new ArgumentException("ImageMean and ImageStd need 3 values (R, G, B).");
        if (ImageStd.Any(s => s == 0)) throw new ArgumentException("ImageStd values must be non-zero.");
    }
}
