namespace FineR1.Core.Imaging;

/// <summary>
/// Which library's bicubic resize to reproduce bit for bit. Both are the same separable antialiased bicubic
/// (Keys a = -0.5, support widened by the downscale factor, horizontal pass then vertical pass, each rounded to uint8);
/// they differ only in how the weights are quantised to integers, which moves a few output values by ±1.
/// </summary>
public enum ResampleCompatibility
{
    /// <summary>
    /// torchvision / PyTorch <c>interpolate(uint8, bicubic, antialias=True)</c>: int16 weights with a precision chosen
    /// from the largest weight. This is what transformers 5.x <c>Qwen2VLImageProcessor</c> (the default, torchvision
    /// backend) does, and what the HF fixtures were produced with.
    /// </summary>
    Torchvision,

    /// <summary>
    /// Pillow <c>Image.resize(BICUBIC)</c> (libImaging <c>Resample.c</c>): int32 weights with 22 fraction bits. This is
    /// transformers 4.x <c>Qwen2VLImageProcessor</c> (slow), transformers 5.x <c>Qwen2VLImageProcessorPil</c>, and
    /// <c>qwen_vl_utils</c>' own resize.
    /// </summary>
    Pillow,
}
