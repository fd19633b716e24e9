using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary><see cref="IVisionLanguageModel"/> as implemented by Qwen2.5-VL: the contract the trainers, the generator and
/// the classifier use computes what the HF-named surface computes (and therefore what HF computes).</summary>
[Trait("Category", "Parity")]
public sealed class ModelContractTests
{
    public static TheoryData<string> Folders() => ParityFixture.Folders();

    [Theory]
    [MemberData(nameof(Folders))]
    public void Forward_through_the_contract_matches_HF_logits(string folder)
    {
        using var fx = ParityFixture.Open(folder);
        var (loaded, _) = fx.LoadModel();
        using var _m = loaded;
        IVisionLanguageModel model = loaded;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.Forward(new VisionLanguageInputs(fx.Tensor("input_ids"), PixelValues: fx.PixelValues(), ImageGridThw: fx.ImageGridThw())).Logits;
        Assert.True(ParityFixture.RelativeError(logits[0], fx.Tensor("logits")) <= 1e-4);
        var last = model.Forward(new VisionLanguageInputs(fx.Tensor("input_ids"), PixelValues: fx.PixelValues(), ImageGridThw: fx.ImageGridThw(), LogitsToKeep: 1)).Logits;
        Assert.True(ParityFixture.RelativeError(last[0, 0], logits[0, -1]) <= 1e-6);   // the head over one row instead of all
        var features = model.GetImageFeatures(fx.PixelValues(), fx.ImageGridThw());
        Assert.True(ParityFixture.RelativeError(features, fx.Tensor("vision_embeds")) <= 1e-4);
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Left_padded_rows_get_the_positions_HF_derives_from_the_mask(string folder)
    {
        // Forward takes no position ids: the model derives M-RoPE positions from ids, grids and mask as HF does. A row
        // padded on the left by 3 tokens must give the unpadded row's logits at its real positions.
        using var fx = ParityFixture.Open(folder);
        var (loaded, _) = fx.LoadModel();
        using var _m = loaded;
        IVisionLanguageModel model = loaded;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = fx.Tensor("input_ids");                                                  // [1, L]
        long length = ids.shape[1];
        var padded = cat([full([1, 3], 0L, ScalarType.Int64), ids], 1);                    // [1, 3 + L]
        var mask = cat([zeros([1, 3], ScalarType.Int64), ones([1, length], ScalarType.Int64)], 1);
        var plain = model.Forward(new VisionLanguageInputs(ids, PixelValues: fx.PixelValues(), ImageGridThw: fx.ImageGridThw())).Logits;
        var shifted = model.Forward(new VisionLanguageInputs(padded, mask, fx.PixelValues(), fx.ImageGridThw())).Logits;
        double rel = ParityFixture.RelativeError(shifted[0].narrow(0, 3, length), plain[0]);
        Assert.True(rel <= 1e-4, $"padded row differs: {rel:E3}");
    }

    [Fact]
    public void Parts_frozen_copy_checkpointing_and_generation_view()
    {
        using var model = new Qwen2_5_VLForConditionalGeneration(
            FineR1.Core.Configuration.Qwen2_5_VLConfig.Load(Path.Combine(TestPaths.Fixture("qwen2_5_vl"), "tiny-a")));
        IVisionLanguageModel contract = model;
        Assert.Equal("qwen2_5_vl", contract.ModelType);
        Assert.Same(model, contract.Module);
        Assert.Equal(model.Config.Text.VocabSize, contract.VocabSize);
        Assert.Equal(model.Config.ImageTokenId, contract.ImageTokenId);

        var parts = contract.UniqueParameters().GroupBy(p => contract.PartOf(p.Name)).ToDictionary(g => g.Key, g => g.Select(p => p.Name).ToList());
        Assert.All(parts[ModelPart.Projector], n => Assert.StartsWith("model.visual.merger.", n));
        Assert.All(parts[ModelPart.VisionTower], n => Assert.StartsWith("model.visual.", n));
        Assert.All(parts[ModelPart.LanguageModel], n => Assert.False(n.StartsWith("model.visual.", StringComparison.Ordinal)));
        Assert.Contains("model.visual.patch_embed.proj.weight", parts[ModelPart.VisionTower]);
        Assert.Contains("model.language_model.embed_tokens.weight", parts[ModelPart.LanguageModel]);

        contract.SetGradientCheckpointing(languageModel: true, visionTower: false);
        Assert.True(model.model.language_model.GradientCheckpointing);
        Assert.False(model.model.visual.GradientCheckpointing);
        contract.SetGradientCheckpointing(false, false);
        Assert.False(model.model.language_model.GradientCheckpointing);

        using var copy = (Qwen2_5_VLForConditionalGeneration)contract.CreateFrozenCopy();
        Assert.False(copy.training);
        var original = model.state_dict();
        foreach (var (name, tensor) in copy.state_dict())
            Assert.True(tensor.eq(original[name]).all().item<bool>(), name);
        Assert.All(copy.parameters(), p => Assert.False(p.requires_grad));
        using (no_grad()) model.lm_head.weight!.add_(1.0f);                               // the copy owns its storage
        Assert.False(copy.lm_head.weight!.eq(model.lm_head.weight!).all().item<bool>());

        var generation = contract.CreateGenerationModel();
        Assert.Equal(contract.VocabSize, generation.VocabSize);
        Assert.Equal(contract.Device.type, generation.Device.type);
    }
}
