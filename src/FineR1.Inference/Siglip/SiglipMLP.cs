using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>HF <c>SiglipMLP</c>: <c>fc2(act(fc1(x)))</c>.</summary>
public sealed class SiglipMLP : nn.Module<Tensor, Tensor>
{
    /// <summary><c>[intermediate, hidden]</c> + bias</summary>
    public Linear fc1;
    /// <summary><c>[hidden, intermediate]</c> + bias</summary>
    public Linear fc2;

    private readonly string _act;

    /// <summary>Creates the MLP for <paramref name="config"/>.</summary>
    public SiglipMLP(SiglipTextConfig config) : base(nameof(SiglipMLP))
    {
        _act = config.HiddenAct;
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(SiglipActivation.Apply(_act, fc1.forward(hidden))).MoveToOuterDisposeScope();
    }
}
