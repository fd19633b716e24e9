using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Common;
using FineR1.Core.Tests.Modeling.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Checkpointing;

/// <summary>Gradient checkpointing of the decoder layers on the HF tiny-a fixture model (text + vision, real weights).</summary>
public sealed class DecoderCheckpointingTests(ITestOutputHelper output)
{
    private static string TinyA => Path.Combine(TestPaths.Fixture("qwen2_5_vl"), "tiny-a");

    /// <summary>Loss over the last 4 prompt tokens (as Loss_AndGradNorms_MatchHF) with the fixture's two images.</summary>
    private static Tensor Loss(ParityFixture fx, Qwen2_5_VLForConditionalGeneration model, out Tensor logits)
    {
        var ids = fx.Tensor("input_ids");
        var labels = full_like(ids, LanguageModelLoss.IgnoreIndex);
        long length = ids.shape[1];
        labels[.., TensorIndex.Slice(length - 4)] = ids[.., TensorIndex.Slice(length - 4)];
        var result = model.forward(inputIds: ids, imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues(), labels: labels);
        logits = result.Logits;
        return result.Loss!;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checkpointed_ForwardAndEveryGradient_EqualPlain(bool vision)
    {
        using var fx = ParityFixture.Open(TinyA);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        model.train();

        var plainLoss = Loss(fx, model, out var plainLogits);
        plainLoss.backward();
        var plain = model.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());
        model.zero_grad();

        model.EnableGradientCheckpointing(vision);
        Assert.True(model.model.language_model.GradientCheckpointing);
        Assert.Equal(vision, model.model.visual.GradientCheckpointing);
        var ckLoss = Loss(fx, model, out var ckLogits);
        Assert.True(plainLogits.eq(ckLogits).all().item<bool>(), "checkpointed logits differ");
        Assert.Equal(plainLoss.item<float>(), ckLoss.item<float>());
        ckLoss.backward();

        double worst = 0;
        foreach (var (name, p) in model.UniqueParameters())
        {
            Assert.NotNull(p.grad);
            double rel = ParityFixture.RelativeError(p.grad!, plain[name]);
            if (plain[name].abs().max().item<float>() == 0) rel = p.grad!.abs().max().item<float>();
            worst = Math.Max(worst, rel);
            Assert.True(rel <= 1e-6, $"{name}: rel {rel:E3}");
        }
        output.WriteLine($"{plain.Count} gradients, worst rel {worst:E3}");
    }

    [Fact]
    public void Checkpointing_IsInactive_WithKvCache_AndInEval()
    {
        using var fx = ParityFixture.Open(TinyA);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        var ids = fx.Tensor("input_ids")[.., TensorIndex.Slice(0, 6)];
        var text = model.model.language_model;
        var reference = text.forward(ids);

        text.GradientCheckpointing = true;
        model.train();
        // Cached prefill + one step under grad mode: the cache path must never be checkpointed (a recompute would
        // write the cache again); results equal the plain forward.
        using var cache = KvCache.Create(model.Config.Text, 1, 8, ScalarType.Float32, CPU);
        var prefill = text.forward(ids[.., TensorIndex.Slice(0, 5)], cache: cache);
        var step = text.forward(ids[.., TensorIndex.Slice(5, 6)], cache: cache);
        Assert.True(allclose(cat([prefill, step], 1), reference, rtol: 1e-5, atol: 1e-6));

        model.eval();
        Assert.True(text.forward(ids).eq(reference).all().item<bool>());
    }

    /// <summary>Counts forwards of the layer it wraps.</summary>
    private sealed class Counting(nn.Module<Tensor, Tensor> inner) : nn.Module<Tensor, Tensor>("Counting")
    {
        public int Calls;
        public override Tensor forward(Tensor x) { Calls++; return inner.forward(x); }
    }

    [Fact]
    public void Checkpointing_RecomputesEachLayerInBackward()
    {
        using var fx = ParityFixture.Open(TinyA);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        var mlp = model.model.language_model.layers[0].mlp;
        var counting = new Counting(mlp.gate_proj);
        mlp.gate_proj = counting;                    // not registered: its parameters stay those of the wrapped Linear
        model.train();
        var ids = fx.Tensor("input_ids");
        model.forward(inputIds: ids).Logits.sum().backward();
        Assert.Equal(1, counting.Calls);

        model.EnableGradientCheckpointing();
        counting.Calls = 0;
        var logits = model.forward(inputIds: ids).Logits;
        Assert.Equal(1, counting.Calls);
        logits.sum().backward();
        Assert.Equal(2, counting.Calls);             // recomputed once in backward

        counting.Calls = 0;
        using (no_grad()) model.forward(inputIds: ids);
        Assert.Equal(1, counting.Calls);
    }
}
