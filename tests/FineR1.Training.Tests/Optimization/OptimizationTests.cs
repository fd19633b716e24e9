using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Optimization;

/// <summary>Tiny two-layer network: Linear → RMS-style norm weight → Linear (names like HF: <c>fc1</c>, <c>norm</c>, <c>fc2</c>).</summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc1;
    public readonly Parameter norm_weight;
    public readonly Linear fc2;

    public TinyNet(int seed = 3, ScalarType dtype = ScalarType.Float32) : base(nameof(TinyNet))
    {
        manual_seed(seed);
        fc1 = nn.Linear(6, 8, dtype: dtype);
        norm_weight = nn.Parameter(ones(8, dtype: dtype));
        fc2 = nn.Linear(8, 3, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = nn.functional.silu(fc1.call(x));
        h = h * rsqrt(h.square().mean([-1], keepdim: true) + 1e-6) * norm_weight;
        return fc2.call(h);
    }
}

public sealed class OptimizationTests
{
    [Theory]
    [InlineData("model.layers.0.input_layernorm.weight", true)]
    [InlineData("model.norm.weight", true)]
    [InlineData("model.layers.0.self_attn.q_proj.bias", true)]
    [InlineData("model.layers.0.self_attn.q_proj.weight", false)]
    [InlineData("visual.blocks.0.norm1.weight", false)]
    [InlineData("lm_head.weight", false)]
    public void No_decay_names_follow_HF_patterns(string name, bool noDecay) =>
        Assert.Equal(noDecay, ParameterGroups.IsNoDecayName(name));

    [Fact]
    public void AdamW_groups_exclude_biases_and_norms_only_when_configured()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var (decay, noDecay) = ParameterGroups.Split(net, new AdamWSettings(1e-3, 0.1, ExcludeNormsAndBiasesFromDecay: true));
        Assert.Equal(3, decay.Count);   // fc1.weight, fc2.weight, norm_weight ("norm_weight" is no HF norm pattern)
        Assert.Equal(2, noDecay.Count); // fc1.bias, fc2.bias
        var (all, none) = ParameterGroups.Split(net, new AdamWSettings(1e-3, 0.1));
        Assert.Equal(5, all.Count);
        Assert.Empty(none);
    }

    [Fact]
    public void AdamW_step_matches_the_closed_form_first_step()
    {
        using var scope = NewDisposeScope();
        var p = nn.Parameter(tensor(new float[] { 1f, -2f }));
        using var opt = TrainingOptimizer.Create([("w", p)], new AdamWSettings(0.1, 0.01), OptimizerStatePrecision.WeightDType);
        p.grad = tensor(new float[] { 0.5f, -0.25f });
        opt.Step();
        // step 1: m̂ = g, v̂ = g², update = lr·g/(|g| + ε) = ±lr; decay first: p·(1 − lr·wd)
        Assert.Equal(1 * (1 - 0.001) - 0.1, p[0].ToDouble(), 5);
        Assert.Equal(-2 * (1 - 0.001) + 0.1, p[1].ToDouble(), 5);
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(6, 0.5)]
    [InlineData(10, 0.0)]
    public void Cosine_with_warmup_matches_HF(int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedules.CosineWithWarmup(step, warmupSteps: 2, totalSteps: 10), 12);

    [Fact]
    public void Constant_schedule_gives_zero_at_the_first_step_like_EasyR1()
    {
        Assert.Equal(0.0, LearningRateSchedules.ConstantWithWarmup(0, 0));
        Assert.Equal(1.0, LearningRateSchedules.ConstantWithWarmup(1, 0));
        Assert.Equal(0.5, LearningRateSchedules.ConstantWithWarmup(2, 4));
    }

    [Fact]
    public void TrainingOptimizer_gives_biases_no_decay_only_when_configured_and_sets_every_group_learning_rate()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var named = net.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        using var hf = TrainingOptimizer.Create(named, new AdamWSettings(1e-3, 0.1, ExcludeNormsAndBiasesFromDecay: true), OptimizerStatePrecision.WeightDType);
        Assert.Equal(["fc1.bias", "fc2.bias"], hf.Names.TakeLast(2));                  // the no-decay group comes last
        Assert.Equal(["fc1.weight", "fc2.weight", "norm_weight"], hf.Names.Take(3).Order());
        // lr 0.1 on a zero-gradient bias: only weight decay could move it, and the no-decay group has none.
        hf.LearningRate = 0.1;
        var bias = net.fc1.bias!.detach().clone();
        var weight = net.fc1.weight!.detach().clone();
        foreach (var p in hf.Parameters) p.grad = zeros_like(p);
        hf.Step();
        Assert.True(net.fc1.bias!.equal(bias).all().item<bool>());
        Assert.False(net.fc1.weight!.equal(weight).all().item<bool>());      // decayed by lr·wd = 1 %
        Assert.Throws<ArgumentException>(() => TrainingOptimizer.Create([.. named, named[0]], new AdamWSettings(1e-3, 0.1), OptimizerStatePrecision.WeightDType));
    }

    [Fact]
    public void Clipping_scales_to_max_norm_and_reports_the_pre_clip_norm()
    {
        using var scope = NewDisposeScope();
        var a = nn.Parameter(zeros(2));
        var b = nn.Parameter(zeros(1));
        a.grad = tensor(new float[] { 3f, 0f });
        b.grad = tensor(new float[] { 4f });
        double norm = GradientClipping.ClipGradNorm([a, b], 1.0);
        Assert.Equal(5.0, norm, 5);
        Assert.Equal(1.0, GradientClipping.TotalNorm([a, b]), 5);
    }

    [Fact]
    public void Non_finite_norm_skips_the_step_and_zeroes_gradients()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var opt = optim.AdamW(net.parameters(), 0.1);
        var before = net.fc1.weight!.detach().clone();
        var ps = net.parameters().ToList();
        foreach (var p in ps) p.grad = full_like(p, float.NaN);
        var result = GradientClipping.ClipAndStep(ps, opt, 1.0);
        Assert.False(result.Stepped);
        Assert.True(double.IsNaN(result.GradNorm));
        Assert.True((before == net.fc1.weight!).all().item<bool>());
        Assert.All(ps, p => Assert.Equal(0.0, p.grad!.abs().sum().ToDouble()));

        net.call(randn(4, 6)).square().mean().backward();
        var ok = GradientClipping.ClipAndStep(ps, opt, 1.0);
        Assert.True(ok.Stepped);
        Assert.False((before == net.fc1.weight!).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_loop_of_ClipAndStep_calls_keeps_the_live_tensor_count_constant(bool anyPrecision)
    {
        var net = new TinyNet();
        var ps = net.parameters().ToList();
        var x = randn(4, 6);
        var torchAdam = anyPrecision ? null : optim.AdamW(ps, 1e-3);
        using var ours = anyPrecision ? new AnyPrecisionAdamW(ps, new AdamWSettings(1e-3, 0.01), ScalarType.Float32) : null;
        Action step = anyPrecision ? ours!.Step : () => torchAdam!.step();
        var live = new List<long>();
        for (int i = 0; i < 6; i++)
        {
            using (NewDisposeScope()) net.call(x).square().mean().backward();
            var result = GradientClipping.ClipAndStep(ps, step, maxNorm: 1e-3);   // tiny max norm: the scaling branch runs
            Assert.True(result.Stepped);
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        // The first call may create optimizer state; from then on nothing may accumulate (it was 5 handles per call).
        Assert.All(live.Skip(1), n => Assert.Equal(live[1], n));
    }

    [Fact]
    public void Accumulated_micro_batch_gradients_equal_the_full_batch_gradient()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var x = randn(10, 6);
        var y = randn(10, 3);
        // Per-sample mean loss; 10 rows in micro-batches of 5 (equal sizes, so the mean of means is the full mean).
        net.call(x).sub(y).square().mean().backward();
        var full = net.parameters().Select(p => p.grad!.clone()).ToList();
        net.zero_grad();
        Assert.Equal(3, GradientAccumulation.MicroBatches(10, 4).Count);
        GradientAccumulation.Accumulate(10, 5, r => net.call(x[r]).sub(y[r]).square().mean());
        var acc = net.parameters().Select(p => p.grad!).ToList();
        for (int i = 0; i < full.Count; i++) Assert.True(allclose(full[i], acc[i], rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void AnyPrecisionAdamW_with_float32_states_equals_torch_AdamW()
    {
        using var scope = NewDisposeScope();
        var a = new TinyNet(seed: 5);
        var b = new TinyNet(seed: 5);
        // Same start even if a test in another collection draws from torch's global generator between the two seeds.
        using (no_grad()) foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) pb.copy_(pa);
        var settings = new AdamWSettings(1e-2, 0.01);
        var reference = optim.AdamW(a.parameters(), settings.LearningRate, weight_decay: settings.WeightDecay);
        using var ours = new AnyPrecisionAdamW(b.parameters(), settings, ScalarType.Float32, kahanSummation: false);
        var x = randn(8, 6, generator: new Generator(11));
        for (int step = 0; step < 5; step++)
        {
            reference.zero_grad();
            a.call(x).square().mean().backward();
            reference.step();
            ours.ZeroGrad();
            b.call(x).square().mean().backward();
            ours.Step();
        }
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
            Assert.True(allclose(pa, pb, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void AnyPrecisionAdamW_state_export_and_import_continue_identically_and_check_shapes()
    {
        using var scope = NewDisposeScope();
        var a = new TinyNet(seed: 7);
        var b = new TinyNet(seed: 7);
        var settings = new AdamWSettings(1e-2, 0.01);
        using var optA = new AnyPrecisionAdamW(a.parameters(), settings, ScalarType.Float32, kahanSummation: true);
        using var optB = new AnyPrecisionAdamW(b.parameters(), settings, ScalarType.Float32, kahanSummation: true);
        var x = randn(8, 6);
        for (int s = 0; s < 3; s++) { optA.ZeroGrad(); a.call(x).square().mean().backward(); optA.Step(); }
        using (no_grad()) foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) pb.copy_(pa);
        for (int i = 0; i < optA.Parameters.Count; i++) optB.ImportState(i, optA.ExportState(i));
        Assert.Equal(3, optB.ExportState(0).Step);
        optA.ZeroGrad(); a.call(x).square().mean().backward(); optA.Step();
        optB.ZeroGrad(); b.call(x).square().mean().backward(); optB.Step();
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) Assert.True(pa.equal(pb).all().item<bool>());

        var wrong = new AnyPrecisionAdamWState(1, zeros(2), zeros(2), zeros(2));
        var e = Assert.Throws<ArgumentException>(() => optB.ImportState(0, wrong));
        Assert.Contains("shape", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => optB.ExportState(optB.Parameters.Count));
    }

    [Fact]
    public void Kahan_summation_keeps_tiny_bf16_updates_that_plain_bf16_loses()
    {
        using var scope = NewDisposeScope();
        // lr 1e-6 on weights ≈ 0.01: a step moves a weight by ~1e-6, below half a bf16 ulp there (≈ 3e-5).
        var settings = new AdamWSettings(1e-6, 0.0);
        var w32 = nn.Parameter(full(64, 0.01f));
        var wKahan = nn.Parameter(full(64, 0.01f, dtype: ScalarType.BFloat16));
        var wPlain = nn.Parameter(full(64, 0.01f, dtype: ScalarType.BFloat16));
        double start = wKahan.to_type(ScalarType.Float64).mean().ToDouble(); // 0.01 rounded to bf16
        using var o32 = new AnyPrecisionAdamW([w32], settings, ScalarType.Float32, kahanSummation: false);
        using var oKahan = new AnyPrecisionAdamW([wKahan], settings, ScalarType.BFloat16, kahanSummation: true);
        using var oPlain = new AnyPrecisionAdamW([wPlain], settings, ScalarType.BFloat16, kahanSummation: false);
        for (int step = 0; step < 500; step++)
        {
            w32.grad = ones_like(w32);
            wKahan.grad = ones_like(wKahan);
            wPlain.grad = ones_like(wPlain);
            o32.Step(); oKahan.Step(); oPlain.Step();
        }
        double moved32 = 0.01 - w32.to_type(ScalarType.Float64).mean().ToDouble();      // ≈ 500 · 1e-6 = 5e-4
        double movedKahan = start - wKahan.to_type(ScalarType.Float64).mean().ToDouble();
        double movedPlain = start - wPlain.to_type(ScalarType.Float64).mean().ToDouble();
        Assert.Equal(5e-4, moved32, 5);
        Assert.Equal(0.0, movedPlain);                                  // every bf16 update rounded away
        // The compensation buffer still holds up to ~1 ulp of p (6.1e-5 at 0.01) not yet applied.
        Assert.True(Math.Abs(movedKahan - moved32) < 1e-4, $"kahan moved {movedKahan}, fp32 {moved32}");
    }
}
