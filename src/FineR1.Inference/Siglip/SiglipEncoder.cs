using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>HF <c>SiglipEncoder</c>: a stack of <see cref="SiglipEncoderLayer"/> (<c>layers.0.…</c>).</summary>
public sealed class SiglipEncoder : nn.Module<Tensor, Tensor?, Tensor>
{
    /// <summary>The layers.</summary>
    public ModuleList<SiglipEncoderLayer> layers;

    /// <summary>Creates <c>num_hidden_layers</c> layers.</summary>
    public SiglipEncoder(SiglipTextConfig config) : base(nameof(SiglipEncoder))
    {
        layers = new ModuleList<SiglipEncoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new SiglipEncoderLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary><paramref name="hidden"/> <c>[B, T, hidden]</c> → <c>[B, T, hidden]</c>.</summary>
    public override Tensor forward(Tensor hidden, Tensor? additiveMask)
    {
        using var scope = NewDisposeScope();
        var h = hidden;
        foreach (var layer in layers) h = layer.forward(h, additiveMask);
        return h.MoveToOuterDisposeScope();
    }
}
