using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Rotary frequency table of the vision tower (HF <c>Qwen2_5_VisionRotaryEmbedding</c>), built with
/// <c>dim = head_dim / 2</c>: each of the two axes (row, column) gets <c>head_dim / 4</c> frequencies.
/// </summary>
/// <remarks>
/// HF keeps <c>inv_freq</c> as a non-persistent buffer. Here it is recomputed in float32 on every call (a handful of
/// values), which keeps it out of the state dict and immune to the model being cast to bfloat16.
/// </remarks>
public sealed class Qwen2_5_VisionRotaryEmbedding : nn.Module<long, Device, Tensor>
{
    private readonly long _dim;
    private readonly double _theta;

    /// <summary>Creates the table generator for <paramref name="dim"/> rotary channels.</summary>
    public Qwen2_5_VisionRotaryEmbedding(long dim, double theta = 10000.0) : base(nameof(Qwen2_5_VisionRotaryEmbedding))
    {
        _dim = dim;
        _theta = theta;
        RegisterComponents();
    }

    /// <summary><c>inv_freq = 1 / theta^(arange(0, dim, 2) / dim)</c>, float32, <c>[dim / 2]</c>.</summary>
    public Tensor InverseFrequencies(Device device)
    {
        using var scope = NewDisposeScope();
        var exponent = arange(0, _dim, 2, dtype: ScalarType.Float32, device: device) / (float)_dim;
        var powers = full_like(exponent, (float)_theta).pow(exponent);
        return powers.reciprocal().MoveToOuterDisposeScope();
    }

    /// <summary>Outer product of positions <c>0..seqlen-1</c> with <c>inv_freq</c>: float32 <c>[seqlen, dim / 2]</c>.</summary>
    public override Tensor forward(long seqlen, Device device)
    {
        using var scope = NewDisposeScope();
        var invFreq = InverseFrequencies(device);                                 // [dim/2]
        var seq = arange(0, seqlen, dtype: ScalarType.Float32, device: device);  // [seqlen]
        return outer(seq, invFreq).MoveToOuterDisposeScope();                    // [seqlen, dim/2]
    }
}
