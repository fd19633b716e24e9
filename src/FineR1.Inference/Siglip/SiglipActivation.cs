using FineR1.Core.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>The activations HF's <c>ACT2FN</c> maps a SigLIP <c>hidden_act</c> to.</summary>
internal static class SiglipActivation
{
    /// <summary>Throws when <paramref name="name"/> is not supported.</summary>
    public static void Check(string name, string? path = null)
    {
        if (name is not ("gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" or "gelu" or "quick_gelu" or "relu"))
            throw new ConfigurationException($"hidden_act '{name}' is not supported (gelu_pytorch_tanh, gelu_new, gelu_fast, gelu, quick_gelu, relu).", path);
    }

    /// <summary>Applies the activation named <paramref name="name"/>.</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        // gelu_new / gelu_fast are the same tanh approximation written out; libtorch's tanh GELU matches them to rounding.
        "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "gelu" => nn.functional.gelu(x),
        "quick_gelu" => x * sigmoid(1.702 * x),
        "relu" => nn.functional.relu(x),
        _ => throw new ConfigurationException($"hidden_act '{name}' is not supported."),
    };
}
