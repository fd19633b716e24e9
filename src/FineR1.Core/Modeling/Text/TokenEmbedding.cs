using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// Token embedding table (HF <c>nn.Embedding</c>, parameter <c>weight</c> <c>[vocab, hidden]</c>). A small module of
/// our own because TorchSharp's <c>Embedding</c> constructor first initialises the table on the CPU, which costs
/// vocab × hidden of host memory (and seconds) even when the model is built on the meta device.
/// </summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    /// <summary>The table <c>[vocab, hidden]</c>, initialised N(0, 1) like torch's (checkpoints overwrite it).</summary>
    public Parameter weight;

    /// <summary>Creates a <paramref name="vocabSize"/> × <paramref name="hiddenSize"/> table on <paramref name="device"/>.</summary>
    public TokenEmbedding(long vocabSize, long hiddenSize, Device? device = null, ScalarType? dtype = null)
        : base("Embedding")
    {
        using (no_grad())
        {
            var table = empty([vocabSize, hiddenSize], dtype ?? ScalarType.Float32, device ?? CPU);
            if (table.device_type != DeviceType.META) table.normal_();
            weight = nn.Parameter(table);
        }
        RegisterComponents();
    }

    /// <summary>Looks up <paramref name="ids"/> (<c>[...]</c> int64) → <c>[..., hidden]</c>.</summary>
    public override Tensor forward(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = weight.index_select(0, flat);                           // [N, hidden]
        return rows.view([.. ids.shape, weight.shape[1]]);
    }
}
