using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Patch embedding (HF <c>Qwen2_5_VisionPatchEmbed</c>): a Conv3d without bias whose kernel equals its stride
/// (temporal × patch × patch), applied to already flattened patches.
/// </summary>
/// <remarks>
/// Each input row holds one patch flattened in HF order (channel, temporal, row, column), i.e. exactly the order of
/// the Conv3d weight's last four dimensions. A Conv3d whose kernel covers the whole input is a dot product, so the
/// forward is one matmul with the weight viewed as <c>[hidden, C·T·P·P]</c>: the same math as HF, without the 5-D
/// convolution.
/// </remarks>
public sealed class Qwen2_5_VisionPatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly long _embedDim;
    private readonly long _patchInputSize;

    /// <summary>The Conv3d (weight <c>[hidden, in_channels, temporal_patch_size, patch_size, patch_size]</c>, no bias).</summary>
    public Conv3d proj;

    /// <summary>Creates the embedding.</summary>
    public Qwen2_5_VisionPatchEmbed(int patchSize, int temporalPatchSize, int inChannels, int embedDim,
        Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VisionPatchEmbed))
    {
        _embedDim = embedDim;
        _patchInputSize = (long)inChannels * temporalPatchSize * patchSize * patchSize;
        var kernel = ((long)temporalPatchSize, (long)patchSize, (long)patchSize);
        proj = nn.Conv3d(inChannels, embedDim, kernel, stride: kernel, bias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Embeds <c>[patches, C·T·P·P]</c> pixel values into <c>[patches, hidden]</c> (in the weight's dtype).</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var weight = proj.weight!;
        var x = pixelValues.to(weight.dtype, weight.device).reshape(-1, _patchInputSize);   // [S, C·T·P·P]
        var w = weight.reshape(_embedDim, _patchInputSize);                                // [hidden, C·T·P·P]
        return x.matmul(w.t()).MoveToOuterDisposeScope();                                   // [S, hidden]
    }
}
