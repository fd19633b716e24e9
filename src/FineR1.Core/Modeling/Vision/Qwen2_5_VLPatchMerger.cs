using FineR1.Core.Modeling.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Vision;

/// <summary>
/// Patch merger (HF <c>Qwen2_5_VLPatchMerger</c>): RMSNorm each patch, concatenate the <c>m²</c> consecutive
/// patches of a merge block into one vector, then <c>Linear → GELU → Linear</c> to the text hidden size.
/// </summary>
public sealed class Qwen2_5_VLPatchMerger : nn.Module<Tensor, Tensor>
{
    private readonly long _mergedSize;

    /// <summary>RMSNorm over <c>context_dim</c> (eps 1e-6).</summary>
    public Qwen2RMSNorm ln_q;
    /// <summary><c>mlp.0</c>: Linear(m²·context, m²·context); <c>mlp.1</c>: GELU (exact); <c>mlp.2</c>: Linear(m²·context, dim).</summary>
    public Sequential mlp;

    /// <summary>Creates the merger.</summary>
    /// <param name="dim">Output size (<c>out_hidden_size</c>).</param>
    /// <param name="contextDim">Vision hidden size.</param>
    /// <param name="spatialMergeSize">Merge size <c>m</c>.</param>
    /// <param name="eps">RMSNorm epsilon.</param>
    /// <param name="device">Where to create the weights.</param>
    /// <param name="dtype">Weight dtype.</param>
    public Qwen2_5_VLPatchMerger(long dim, long contextDim, int spatialMergeSize = 2, double eps = 1e-6,
        Device? device = null, ScalarType? dtype = null)
        : base(nameof(Qwen2_5_VLPatchMerger))
    {
        _mergedSize = contextDim * spatialMergeSize * spatialMergeSize;
        ln_q = new Qwen2RMSNorm(contextDim, eps, device, dtype);
        mlp = nn.Sequential(
            nn.Linear(_mergedSize, _mergedSize, true, device, dtype),
            nn.GELU(),
            nn.Linear(_mergedSize, dim, true, device, dtype));
        RegisterComponents();
    }

    /// <summary><c>[S, context]</c> → <c>[S / m², dim]</c>.</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var merged = ln_q.forward(hidden).reshape(-1, _mergedSize);   // [S/m², m²·context]
        return mlp.forward(merged).MoveToOuterDisposeScope();         // [S/m², dim]
    }
}
