using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Common;

/// <summary>
/// RMSNorm as HF <c>Qwen2RMSNorm</c>: normalise in float32, cast back to the input dtype, then scale by
/// <c>weight</c> (parameter name kept as in HF so checkpoints load by name).
/// </summary>
public sealed class Qwen2RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;

    /// <summary>Scale, initialised to ones. <c>[hidden]</c></summary>
    public Parameter weight;

    /// <summary>Creates the norm for vectors of size <paramref name="hiddenSize"/>.</summary>
    public Qwen2RMSNorm(long hiddenSize, double eps = 1e-6, Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2RMSNorm))
    {
        _eps = eps;
        weight = nn.Parameter(ones(hiddenSize, dtype: dtype ?? ScalarType.Float32, device: device));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var inputType = hidden.dtype;
        var h = hidden.to(ScalarType.Float32);                                  // [..., hidden]
        var variance = h.pow(2).mean([-1], keepdim: true);                     // [..., 1]
        h = h * rsqrt(variance + _eps);
        return (weight * h.to(inputType)).MoveToOuterDisposeScope();
    }
}
