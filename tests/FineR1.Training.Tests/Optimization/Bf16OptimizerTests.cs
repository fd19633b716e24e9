using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Optimization;

/// <summary>
/// bf16 weights at TAPO's learning rate 1e-6: TorchSharp's plain AdamW (what <c>TapoTrainer</c> used before) rounds the
/// updates away; the trainers' <see cref="TrainingOptimizer"/> (bf16 states, Kahan-compensated updates, as the reference's
/// AnyPrecisionAdamW) follows the float32 AdamW trajectory. The weights are a 64×64 linear layer's default init,
/// U(−1/8, 1/8): one step moves a weight by ≈ lr = 1e-6, which is below half a bf16 ulp for every |w| ≥ 2^-11 = 4.9e-4,
/// so a plain bf16 step can only move the ≈ 2^-11 / (1/8) = 0.4 % of weights smaller than that.
/// </summary>
[Trait("Category", "Bf16")]
public sealed class Bf16OptimizerTests
{
    private const double Lr = 1e-6, WeightDecay = 1e-2;
    private const int Steps = 50;

    [Fact]
    public void At_lr_1e6_a_plain_bf16_AdamW_step_leaves_at_least_99_percent_of_weights_unchanged()
    {
        using var scope = NewDisposeScope();
        var w0 = StartWeights();
        var plain = nn.Parameter(w0.to_type(ScalarType.BFloat16));
        var adamw = optim.AdamW([plain], Lr, weight_decay: WeightDecay);
        plain.grad = Gradient(0, ScalarType.BFloat16);
        adamw.step();
        double unchanged = plain.eq(w0.to_type(ScalarType.BFloat16)).to_type(ScalarType.Float64).mean().ToDouble();
        Assert.True(unchanged >= 0.99, $"plain bf16 AdamW changed {1 - unchanged:P2} of the weights");
    }

    [Fact]
    public void AnyPrecisionAdamW_tracks_the_float32_AdamW_trajectory_over_50_steps_and_plain_bf16_does_not()
    {
        using var scope = NewDisposeScope();
        var w0 = StartWeights();                                                        // bf16-representable values
        var reference = nn.Parameter(w0.clone());                                       // float32 weights
        var ours = nn.Parameter(w0.to_type(ScalarType.BFloat16));
        var plain = nn.Parameter(w0.to_type(ScalarType.BFloat16));
        var fp32 = optim.AdamW([reference], Lr, weight_decay: WeightDecay);             // torch.optim.AdamW
        var plainBf16 = optim.AdamW([plain], Lr, weight_decay: WeightDecay);
        using var anyPrecision = TrainingOptimizer.Create([("w", ours)], new AdamWSettings(Lr, WeightDecay), OptimizerStatePrecision.WeightDType);
        Assert.Equal(ScalarType.BFloat16, anyPrecision.StateDType);
        Assert.True(anyPrecision.KahanSummation);
        for (int t = 0; t < Steps; t++)
        {
            reference.grad = Gradient(t, ScalarType.Float32);
            ours.grad = Gradient(t, ScalarType.BFloat16);      // what a bf16 backward hands the optimizer
            plain.grad = Gradient(t, ScalarType.BFloat16);
            fp32.step(); anyPrecision.Step(); plainBf16.step();
        }
        var start = w0.to_type(ScalarType.Float64);
        var moved = reference.to_type(ScalarType.Float64) - start;                      // the float32 trajectory: ≈ 50 · 1e-6 per weight
        var compensation = anyPrecision.Parameters.Count == 1 ? CompensationOf(anyPrecision) : throw new InvalidOperationException();
        var oursEffective = ours.to_type(ScalarType.Float64) + compensation - start;  // weight + what the Kahan buffer still owes it
        var plainMoved = plain.to_type(ScalarType.Float64) - start;

        // (1) The effective update follows float32 AdamW. Derived bound 0.2 (relative L2): bf16 moment rounding (2^-9 per
        // store, amplified ≤ 1/(1−β1) = 10× in the EMA: ≤ 2 %), bf16 variance that cannot decay by β2 = 0.999 (0.999·v
        // rounds back to v: ≤ 2.5 % after 50 steps, halved by the square root) plus its own rounding (≤ 50 · 2^-9 = 10 %,
        // halved: 5 %), and the bf16 compensation buffer's rounding (|c| ≤ 5e-5 here, so ≤ 2^-9·5e-5 per step: ≤ 12 % of the
        // path over 50 steps). Measured ≈ 1 %; plain bf16 loses the whole update (ratio ≈ 1).
        double error = (oursEffective - moved).norm().ToDouble() / moved.norm().ToDouble();
        double plainError = (plainMoved - moved).norm().ToDouble() / moved.norm().ToDouble();
        Assert.True(error < 0.2, $"AnyPrecisionAdamW effective update is {error:P1} off float32 AdamW");
        Assert.True(plainError > 0.9, $"plain bf16 AdamW is only {plainError:P1} off: the test no longer shows the rounding loss");

        // (2) The bf16 weight itself is the float32 trajectory rounded, up to what is still in the compensation buffer:
        // within one bf16 ulp of the float32 weight (half an ulp of residual + the 0.2 bound above, ≪ 1 ulp for |w| ≥ 2^-8).
        var ulp = Ulp(reference.to_type(ScalarType.Float64));
        var gap = (ours.to_type(ScalarType.Float64) - reference.to_type(ScalarType.Float64)).abs();
        double withinUlp = gap.le(ulp + 0.2 * moved.abs()).to_type(ScalarType.Float64).mean().ToDouble();
        Assert.Equal(1.0, withinUlp);

        // (3) Every weight whose float32 path crossed at least two bf16 ulps has moved in bf16 too, the right way; plain
        // bf16 left ≥ 99 % of all weights where they were.
        var mustMove = moved.abs().ge(2 * Ulp(start));
        long count = mustMove.sum().ToInt64();
        Assert.True(count > 50, $"only {count} weights crossed two ulps; the test needs small weights");
        var oursMoved = ours.to_type(ScalarType.Float64) - start;
        Assert.True((oursMoved * moved).gt(0).masked_select(mustMove).all().item<bool>());
        double plainUnchanged = plainMoved.eq(0).to_type(ScalarType.Float64).mean().ToDouble();
        Assert.True(plainUnchanged >= 0.99, $"plain bf16 moved {1 - plainUnchanged:P2} of the weights");
    }

    [Fact]
    public void Float32_weights_get_exactly_torch_AdamW_and_no_compensation()
    {
        using var scope = NewDisposeScope();
        var w0 = StartWeights();
        var a = nn.Parameter(w0.clone());
        var b = nn.Parameter(w0.clone());
        var torchAdamW = optim.AdamW([a], 1e-3, weight_decay: WeightDecay);
        using var ours = TrainingOptimizer.Create([("w", b)], new AdamWSettings(1e-3, WeightDecay), OptimizerStatePrecision.WeightDType);
        Assert.Equal(ScalarType.Float32, ours.StateDType);
        Assert.False(ours.KahanSummation);
        for (int t = 0; t < 5; t++)
        {
            a.grad = Gradient(t, ScalarType.Float32);
            b.grad = Gradient(t, ScalarType.Float32);
            torchAdamW.step(); ours.Step();
        }
        Assert.True(allclose(a, b, rtol: 1e-5, atol: 1e-8));
    }

    private static Tensor StartWeights()
    {
        // nn.Linear(64, 64)'s default init, U(−1/√64, 1/√64), drawn from a fixed generator; rounded to bf16 values.
        var w = rand([64, 64], generator: new Generator(5)) * 0.25 - 0.125;                   // [64, 64]
        return w.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
    }

    /// <summary>Step <paramref name="t"/>'s gradient: a fixed per-weight direction plus noise, so AdamW moves every weight
    /// steadily (≈ lr per step) as in a training run.</summary>
    private static Tensor Gradient(int t, ScalarType dtype)
    {
        var direction = randn([64, 64], generator: new Generator(17));
        var noise = randn([64, 64], generator: new Generator(1000 + (ulong)t));
        return (direction + 0.5 * noise).to_type(dtype);
    }

    /// <summary>Distance from |x| to the next bf16 number: 2^(⌊log2 |x|⌋ − 7).</summary>
    private static Tensor Ulp(Tensor x) => pow(2.0, floor(log2(x.abs())) - 7);

    private static Tensor CompensationOf(TrainingOptimizer optimizer) =>
        optimizer.ExportState().Single(kv => kv.Key == "w.compensation").Value.to_type(ScalarType.Float64);
}
