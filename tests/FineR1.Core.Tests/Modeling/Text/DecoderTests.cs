using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Text;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Text;

public sealed class DecoderTests
{
    private static double Rel(Tensor a, Tensor b)
    {
        using var d = (a - b).norm();
        using var n = b.norm();
        return d.item<float>() / n.item<float>();
    }

    [Fact]
    public void ChunkedCachedForward_MatchesFullForward()
    {
        random.manual_seed(1);
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyText.Config);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 50, [2, 9], dtype: ScalarType.Int64);
        var full = model.forward(inputIds: ids).Logits;                                    // [2, 9, V]
        using var cache = KvCache.Create(TinyText.Config.Text, 2, 9);
        // Chunks of 4, 3 (explicit causal mask over cached keys) and 2 tokens.
        var parts = new[] { (0, 4), (4, 3), (7, 2) }
            .Select(c => model.forward(inputIds: ids.narrow(1, c.Item1, c.Item2), cache: cache).Logits).ToArray();
        Assert.True(Rel(cat(parts, 1), full) < 1e-5);
        Assert.Equal(9, cache.Length);
    }

    [Fact]
    public void AllOnesMask_MatchesCausalPath()
    {
        random.manual_seed(2);
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyText.Config);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = randint(0, 50, [2, 7], dtype: ScalarType.Int64);
        var causal = model.forward(inputIds: ids).Logits;
        var masked = model.forward(inputIds: ids, attentionMask: ones(2, 7, dtype: ScalarType.Int64)).Logits;
        Assert.True(Rel(masked, causal) < 1e-6);
    }

    [Fact]
    public void Bfloat16_ForwardRuns_AndStaysClose()
    {
        random.manual_seed(3);
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyText.Config);
        using var half = new Qwen2_5_VLForConditionalGeneration(TinyText.Config, dtype: ScalarType.BFloat16);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var ((_, p), (_, q)) in model.named_parameters().Zip(half.named_parameters())) q.copy_(p);
        var ids = randint(0, 50, [1, 6], dtype: ScalarType.Int64);
        var a = model.forward(inputIds: ids).Logits;
        var b = half.forward(inputIds: ids).Logits;
        Assert.Equal(ScalarType.BFloat16, b.dtype);
        Assert.True(Rel(b.to(ScalarType.Float32), a) < 5e-2);
    }

    [Fact]
    public void IdsAndEmbedsTogether_Throw()
    {
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyText.Config);
        using var ids = zeros(1, 3, dtype: ScalarType.Int64);
        using var embeds = zeros(1, 3, 32);
        Assert.Throws<ArgumentException>(() => model.forward(inputIds: ids, inputsEmbeds: embeds));
    }

    [Fact]
    public void ImageFeatureCountMismatch_Throws()
    {
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyText.Config);
        using var ids = tensor(new long[] { 1, 58, 60, 60, 60, 60, 59 }, [1, 7]);
        using var grid = tensor(new long[] { 1, 4, 4 }, [1, 3]);
        using var features = zeros(3, 32);                                 // 4 image tokens, 3 features
        var e = Assert.Throws<ArgumentException>(() => model.forward(inputIds: ids, imageGridThw: grid, imageEmbeds: features));
        Assert.Contains("tokens: 4, features: 3", e.Message);
    }

    [Fact]
    public void TiedHead_SharesTheEmbedding()
    {
        var config = TinyText.Config with { Text = TinyText.Config.Text with { TieWordEmbeddings = true } };
        using var model = new Qwen2_5_VLForConditionalGeneration(config);
        using (no_grad()) model.model.language_model.embed_tokens.weight.fill_(0.5f);
        Assert.Equal(0.5f, model.lm_head.weight![3, 4].item<float>());
        Assert.Contains("lm_head.weight", model.state_dict().Keys);
        Assert.DoesNotContain(model.UniqueParameters(), p => p.Name == "lm_head.weight");
    }
}
