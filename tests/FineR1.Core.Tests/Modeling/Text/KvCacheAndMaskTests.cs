using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Text;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Text;

public sealed class KvCacheAndMaskTests
{
    [Fact]
    public void Update_WritesInPlace_AndReturnsTheFilledPrefix()
    {
        using var cache = new KvCache(1, 1, 2, 5, 3);
        using var scope = NewDisposeScope();
        var (k1, _) = cache.Update(0, full(1, 2, 2, 3, 1f), full(1, 2, 2, 3, 2f));
        Assert.Equal([1, 2, 2, 3], k1.shape);
        cache.Advance(2);
        var (k2, v2) = cache.Update(0, full(1, 2, 1, 3, 7f), full(1, 2, 1, 3, 8f));
        cache.Advance(1);
        Assert.Equal([1, 2, 3, 3], k2.shape);
        Assert.Equal(1f, k2[0, 0, 1, 0].item<float>());
        Assert.Equal(7f, k2[0, 1, 2, 2].item<float>());
        Assert.Equal(8f, cache.Values(0)[0, 0, 2, 0].item<float>());
        v2[0, 0, 0, 0].fill_(42f);                                             // a view of the preallocated buffer
        Assert.Equal(42f, cache.Values(0)[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void Overflow_Throws()
    {
        using var cache = new KvCache(1, 1, 1, 2, 4);
        using var k = zeros(1, 1, 3, 4);
        var e = Assert.Throws<InvalidOperationException>(() => cache.Update(0, k, k));
        Assert.Contains("preallocated length 2", e.Message);
    }

    [Fact]
    public void Mask_FollowsWorkedExample()
    {
        using var padding = tensor(new long[] { 0, 1, 1 }, [1, 3]);
        using var mask = AttentionMask.Build(padding, past: 0, steps: 3);
        Assert.Equal([1, 1, 3, 3], mask.shape);
        Assert.Equal([true, false, false, false, true, false, false, true, true], mask.data<bool>().ToArray());
    }

    [Fact]
    public void Mask_WithCachedTokens_CoversPastAndNew()
    {
        using var padding = tensor(new long[] { 0, 1, 1, 1 }, [1, 4]);
        using var mask = AttentionMask.Build(padding, past: 3, steps: 1);
        Assert.Equal([false, true, true, true], mask.data<bool>().ToArray());
        Assert.Throws<ArgumentException>(() => AttentionMask.Build(padding, past: 2, steps: 1));
    }

    [Fact]
    public void Loss_ShiftsLabels_AndIgnoresMinus100()
    {
        random.manual_seed(4);
        using var scope = NewDisposeScope();
        var logits = randn(1, 4, 10);
        var labels = tensor(new long[] { -100, -100, 7, 9 }, [1, 4]);
        var loss = LanguageModelLoss.Compute(logits, labels).item<float>();
        var logp = logits.log_softmax(-1);
        double expected = -(logp[0, 1, 7].item<float>() + logp[0, 2, 9].item<float>()) / 2;
        Assert.Equal(expected, loss, 5);
        var summed = LanguageModelLoss.Compute(logits, labels, numItemsInBatch: 4).item<float>();
        Assert.Equal(expected * 2 / 4, summed, 5);
    }
}
