using System.Text.Json;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary>HF transformers parity of the composite model, driven by fixture folders.</summary>
[Trait("Category", "Parity")]
public sealed class Qwen2_5_VLParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Folders() => ParityFixture.Folders();

    [Theory]
    [MemberData(nameof(Folders))]
    public void RopeIndex_MatchesHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        using var ids = fx.Tensor("input_ids");
        using var grid = fx.ImageGridThw();
        var (positions, deltas) = RopeIndex.GetRopeIndex(fx.Config, ids, grid);
        using var expected = fx.Tensor("position_ids");
        Assert.Equal(expected.shape, positions.shape);
        Assert.True(positions.eq(expected).all().item<bool>(), "position_ids differ from HF");
        var expectedDeltas = fx.Json.GetProperty("rope_deltas").EnumerateArray()
            .Select(r => r.EnumerateArray().Single().GetInt64()).ToArray();
        Assert.Equal(expectedDeltas, deltas.data<long>().ToArray());
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Logits_WithFixtureVisionEmbeds_MatchHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = fx.Tensor("input_ids");
        var result = model.forward(inputIds: ids, imageGridThw: fx.ImageGridThw(), imageEmbeds: fx.Tensor("vision_embeds"));
        var expected = fx.Tensor("logits");                                       // [L, V]
        double rel = ParityFixture.RelativeError(result.Logits[0], expected);
        output.WriteLine($"{Path.GetFileName(folder)}: logits ||Δ||/||ref|| = {rel:E3}");
        Assert.True(rel <= 1e-4, $"relative logits error {rel:E3} > 1e-4");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void VisionEmbeds_OfThePromptImages_MatchHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var embeds = model.model.visual.forward(fx.PixelValues(), fx.ImageGridThw());   // [merged tokens, hidden]
        var expected = fx.Tensor("vision_embeds");
        Assert.Equal(expected.shape, embeds.shape);
        double rel = ParityFixture.RelativeError(embeds, expected);
        output.WriteLine($"{Path.GetFileName(folder)}: vision_embeds ||Δ||/||ref|| = {rel:E3}");
        Assert.True(rel <= 1e-4, $"relative vision_embeds error {rel:E3} > 1e-4");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Logits_ThroughVisionTower_MatchHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var result = model.forward(inputIds: fx.Tensor("input_ids"), imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues());
        double rel = ParityFixture.RelativeError(result.Logits[0], fx.Tensor("logits"));
        output.WriteLine($"{Path.GetFileName(folder)}: logits through the vision tower ||Δ||/||ref|| = {rel:E3}");
        Assert.True(rel <= 1e-4, $"relative logits error {rel:E3} > 1e-4");
        Assert.Equal([1, 1], result.RopeDeltas!.shape);
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void KvCache_TokenByToken_MatchesFullForward(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = fx.Tensor("input_ids");
        var grid = fx.ImageGridThw();
        var embeds = fx.Tensor("vision_embeds");
        var full = model.forward(inputIds: ids, imageGridThw: grid, imageEmbeds: embeds).Logits;          // [1, L, V]
        var (positions, _) = RopeIndex.GetRopeIndex(fx.Config, ids, grid);

        long length = ids.shape[1];
        // Prefill up to and including the image block, then one token at a time.
        long prefill = ids[0].eq(fx.Config.VisionEndTokenId).nonzero()[0, 0].item<long>() + 1;
        using var cache = KvCache.Create(fx.Config.Text, 1, length, ScalarType.Float32);
        var pieces = new List<Tensor>
        {
            model.forward(inputIds: ids.narrow(1, 0, prefill), positionIds: positions.narrow(2, 0, prefill),
                cache: cache, imageGridThw: grid, imageEmbeds: embeds).Logits,
        };
        for (long t = prefill; t < length; t++)
            pieces.Add(model.forward(inputIds: ids.narrow(1, t, 1), positionIds: positions.narrow(2, t, 1), cache: cache).Logits);
        Assert.Equal(length, cache.Length);
        var stepwise = cat(pieces, 1);
        double rel = ParityFixture.RelativeError(stepwise, full);
        double vsHf = ParityFixture.RelativeError(stepwise[0], fx.Tensor("logits"));
        output.WriteLine($"cached vs full: {rel:E3}; cached vs HF: {vsHf:E3}");
        Assert.True(rel <= 1e-5, $"cached logits differ from the full forward by {rel:E3}");
        Assert.True(vsHf <= 1e-4, $"cached logits differ from HF by {vsHf:E3}");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void GreedyDecoding_WithCache_ReproducesHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = fx.Tensor("input_ids");
        var expected = fx.Json.GetProperty("generated").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        using var cache = KvCache.Create(fx.Config.Text, 1, ids.shape[1] + expected.Length, ScalarType.Float32);
        // Positions computed by the model at prefill; later steps use its stored rope deltas.
        var logits = model.forward(inputIds: ids, cache: cache, imageGridThw: fx.ImageGridThw(),
            imageEmbeds: fx.Tensor("vision_embeds"), logitsToKeep: 1).Logits;
        var generated = new List<long>();
        for (int i = 0; i < expected.Length; i++)
        {
            var next = logits[0, -1].argmax().item<long>();
            generated.Add(next);
            logits = model.forward(inputIds: tensor(new[] { next }).view(1, 1), cache: cache).Logits;
        }
        Assert.Equal(expected, generated);
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Loss_AndGradNorms_MatchHF(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        var ids = fx.Tensor("input_ids");
        var labels = full_like(ids, LanguageModelLoss.IgnoreIndex);
        long length = ids.shape[1];
        labels[.., TensorIndex.Slice(length - 4)] = ids[.., TensorIndex.Slice(length - 4)];
        var result = model.forward(inputIds: ids, imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues(), labels: labels);
        double loss = result.Loss!.item<float>();
        double expectedLoss = fx.Json.GetProperty("loss_last4").GetDouble();
        output.WriteLine($"loss {loss:R} vs HF {expectedLoss:R}: rel {Math.Abs(loss - expectedLoss) / expectedLoss:E3}");
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * Math.Abs(expectedLoss), $"loss {loss} vs {expectedLoss}");

        result.Loss!.backward();
        var norms = fx.Json.GetProperty("grad_norms");
        double worst = 0;
        int checkedCount = 0;
        foreach (var (name, p) in model.UniqueParameters())
        {
            Assert.True(norms.TryGetProperty(name, out var e), $"HF has no grad norm for {name}");
            double expectedNorm = e.GetDouble();
            double actual = p.grad!.norm().item<float>();
            double rel = Math.Abs(actual - expectedNorm) / Math.Max(expectedNorm, 1e-12);
            worst = Math.Max(worst, rel);
            Assert.True(rel <= 1e-3, $"{name}: grad norm {actual} vs HF {expectedNorm} (rel {rel:E3})");
            checkedCount++;
        }
        output.WriteLine($"{checkedCount} grad norms, worst rel {worst:E3}");
        Assert.Equal(norms.EnumerateObject().Count(), checkedCount);
    }
}
