using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Lora;

/// <summary>
/// A frozen <c>nn.Linear</c> plus a trainable low-rank update, as PEFT's <c>lora.Linear</c>:
/// <c>y = base_layer(x) + lora_B(lora_A(dropout(x))) · alpha / r</c>. Parameter names are PEFT's:
/// <c>base_layer.weight</c>, <c>base_layer.bias</c>, <c>lora_A.default.weight</c> <c>[r, in]</c>,
/// <c>lora_B.default.weight</c> <c>[out, r]</c>.
/// </summary>
/// <remarks>
/// Initialisation as PEFT's default: <c>lora_A</c> Kaiming-uniform with <c>a = √5</c> (nn.Linear's own init),
/// <c>lora_B</c> zeros, so a fresh adapter leaves the output unchanged. The adapter has the base weight's dtype and
/// device.
/// </remarks>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    /// <summary>The wrapped layer; its parameters are frozen.</summary>
    public Linear base_layer;
    /// <summary>Down projection per adapter (<c>default</c>): <c>[r, in]</c>, no bias.</summary>
    public ModuleDict<Linear> lora_A;
    /// <summary>Up projection per adapter (<c>default</c>): <c>[out, r]</c>, no bias.</summary>
    public ModuleDict<Linear> lora_B;
    /// <summary>Dropout on the adapter's input (identity when p = 0).</summary>
    public ModuleDict<nn.Module<Tensor, Tensor>> lora_dropout;

    /// <summary><c>alpha / r</c>.</summary>
    public double Scaling { get; }
    /// <summary>Rank <c>r</c>.</summary>
    public int Rank { get; }

    /// <summary>Wraps <paramref name="baseLayer"/> (frozen here) with a fresh rank-<c>r</c> adapter.</summary>
    public LoraLinear(Linear baseLayer, int rank, double alpha, double dropout) : base(nameof(LoraLinear))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        base_layer = baseLayer;
        Rank = rank;
        Scaling = alpha / rank;
        var weight = baseLayer.weight!;                                      // [out, in]
        long outFeatures = weight.shape[0], inFeatures = weight.shape[1];
        var a = nn.Linear(inFeatures, rank, hasBias: false, device: weight.device, dtype: weight.dtype);
        var b = nn.Linear(rank, outFeatures, hasBias: false, device: weight.device, dtype: weight.dtype);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(a.weight!, a: Math.Sqrt(5));
            nn.init.zeros_(b.weight!);
        }
        lora_A = nn.ModuleDict<Linear>((LoraOptions.DefaultAdapterName, a));
        lora_B = nn.ModuleDict<Linear>((LoraOptions.DefaultAdapterName, b));
        lora_dropout = nn.ModuleDict<nn.Module<Tensor, Tensor>>(
            (LoraOptions.DefaultAdapterName, dropout > 0 ? nn.Dropout(dropout) : nn.Identity()));
        RegisterComponents();
        foreach (var p in base_layer.parameters()) p.requires_grad_(false);
    }

    /// <summary>The adapter's down projection weight <c>[r, in]</c>.</summary>
    public Parameter A => lora_A[LoraOptions.DefaultAdapterName].weight!;
    /// <summary>The adapter's up projection weight <c>[out, r]</c>.</summary>
    public Parameter B => lora_B[LoraOptions.DefaultAdapterName].weight!;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) // [..., in] → [..., out]
    {
        using var scope = NewDisposeScope();
        var result = base_layer.forward(x);
        var dropped = lora_dropout[LoraOptions.DefaultAdapterName].forward(x);
        var update = lora_B[LoraOptions.DefaultAdapterName].forward(lora_A[LoraOptions.DefaultAdapterName].forward(dropped));
        return (result + update * Scaling).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>B·A·scaling</c> <c>[out, in]</c> in the base weight's dtype (computed in float32 for bf16/fp16 weights, as
    /// PEFT's <c>get_delta_weight</c> does on CPU).
    /// </summary>
    public Tensor DeltaWeight()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = base_layer.weight!.dtype;
        var compute = dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : dtype;
        var delta = matmul(B.to(compute), A.to(compute)) * Scaling;          // [out, r]·[r, in]
        return delta.to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Adds <see cref="DeltaWeight"/> into the base weight in place and returns the base layer (still frozen).</summary>
    public Linear MergeIntoBase()
    {
        using var _ = no_grad();
        using var delta = DeltaWeight();
        base_layer.weight!.add_(delta);
        return base_layer;
    }
}
