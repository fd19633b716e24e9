using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary>The attention seam: every attention module calls the kernel chosen by name, and both built-in kernels
/// compute what HF computes.</summary>
public sealed class AttentionSeamTests(ITestOutputHelper output)
{
    public static TheoryData<string> Folders() => ParityFixture.Folders();

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Folders))]
    public void Eager_attention_matches_HF_logits(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        model.SetAttentionImplementation(AttentionImplementations.Eager);
        Assert.Equal("eager", model.AttentionImplementation);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(inputIds: fx.Tensor("input_ids"), imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues()).Logits;
        double rel = ParityFixture.RelativeError(logits[0], fx.Tensor("logits"));
        output.WriteLine($"{Path.GetFileName(folder)}: eager logits ||Δ||/||ref|| = {rel:E3}");
        Assert.True(rel <= 1e-4, $"relative logits error {rel:E3}");
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.BFloat16, 2e-2)]
    public void Eager_and_SDPA_agree_with_grouped_heads_padding_and_causality(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        var q = randn([2, 4, 6, 8], generator: g).to(dtype);                                  // [B, H, T, hd]
        var k = randn([2, 2, 6, 8], generator: g).to(dtype);                                  // [B, KV, S, hd]
        var v = randn([2, 2, 6, 8], generator: g).to(dtype);
        var padding = tensor(new long[] { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, [2, 6]);   // row 0 left-padded by 2
        var mask = FineR1.Core.Modeling.Text.AttentionMask.Build(padding, 0, 6);              // [B, 1, T, S]
        foreach (var (m, causal) in new (Tensor?, bool)[] { (mask, false), (null, true), (null, false) })
        {
            var sdpa = AttentionImplementations.ScaledDotProduct(q, k, v, m, causal).to(ScalarType.Float32);
            var eager = AttentionImplementations.EagerAttention(q, k, v, m, causal).to(ScalarType.Float32);
            Assert.Equal(new long[] { 2, 4, 6, 8 }, eager.shape);
            double diff = (sdpa - eager).abs().max().ToDouble();
            Assert.True(diff <= tolerance, $"{dtype} mask={m is not null} causal={causal}: max |Δ| = {diff:E2}");
        }
    }

    [Fact]
    public void A_registered_kernel_is_called_by_every_attention_module_and_its_output_is_used()
    {
        using var fx = ParityFixture.Open(Path.Combine(TestPaths.Fixture("qwen2_5_vl"), "tiny-a"));
        var (model, _) = fx.LoadModel();
        using var _m = model;
        int calls = 0;
        AttentionImplementations.Register("counting_sdpa", (q, k, v, mask, causal) =>
        {
            Interlocked.Increment(ref calls);
            return AttentionImplementations.ScaledDotProduct(q, k, v, mask, causal);
        });
        AttentionImplementations.Register("zeros", (q, k, v, mask, causal) => zeros_like(q));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor Logits() => model.forward(inputIds: fx.Tensor("input_ids"), imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues()).Logits;
        var reference = Logits();

        model.SetAttentionImplementation("counting_sdpa");
        var counted = Logits();
        int decoderLayers = model.Config.Text.NumHiddenLayers;
        Assert.True(calls >= decoderLayers + model.Config.Vision.Depth, $"{calls} calls");   // vision: ≥ 1 per block
        Assert.Equal(0.0, (counted - reference).abs().max().ToDouble());

        model.SetAttentionImplementation("zeros");
        Assert.True((Logits() - reference).abs().max().ToDouble() > 1e-3);                     // the kernel's output is what flows

        using var copy = model.CreateFrozenCopy();
        Assert.Equal("zeros", copy.AttentionImplementation);
        model.SetAttentionImplementation(AttentionImplementations.Sdpa);
        Assert.Equal(0.0, (Logits() - reference).abs().max().ToDouble());
    }

    [Fact]
    public void Unknown_names_are_refused_and_built_ins_cannot_be_replaced()
    {
        var e = Assert.Throws<ArgumentException>(() => AttentionImplementations.Get("flash_attention_9"));
        Assert.Contains("flash_attention_9", e.Message);
        Assert.Contains("sdpa", e.Message);
        Assert.Contains("eager", e.Message);
        Assert.Throws<ArgumentException>(() => AttentionImplementations.Register("sdpa", (q, k, v, m, c) => q));
    }
}
