using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using TorchSharp;
using static FineR1.Core.Tests.Checkpoints.CheckpointTestFiles;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Checkpoints;

/// <summary>The HF fixture against the real <see cref="Qwen2_5_VLForConditionalGeneration"/>.</summary>
public sealed class CheckpointRealModelTests
{
    private static string TinyAFolder => Path.GetDirectoryName(TinyA)!;
    /// <summary>
    /// The real model, with the real vision tower attached as <c>model.visual</c> while
    /// <see cref="Qwen2_5_VLModel"/> does not own one yet (main at the time of writing: text only).
    /// </summary>
    private static Qwen2_5_VLForConditionalGeneration NewModel(Qwen2_5_VLConfig config, Device? device = null, ScalarType? dtype = null)
    {
        var model = new Qwen2_5_VLForConditionalGeneration(config, device, dtype);
        if (!model.named_parameters().Any(p => p.name.StartsWith("model.visual.", StringComparison.Ordinal)))
            model.model.register_module("visual", new FineR1.Core.Modeling.Vision.Qwen2_5_VisionTransformerPretrainedModel(config.Vision, device, dtype));
        return model;
    }

    private static Qwen2_5_VLConfig TinyAConfig => Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));

    [Fact]
    [Trait("Category", "Parity")]
    public void TinyA_LoadsIntoTheRealModel_WithNoMissingOrUnexpectedKeys()
    {
        using var model = NewModel(TinyAConfig);

        var report = CheckpointLoader.Load(model, TinyAFolder);

        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        Assert.Equal(new Dictionary<string, string> { ["lm_head.weight"] = "model.language_model.embed_tokens.weight" }, report.Tied);
        Assert.Equal(80, report.Loaded.Count);
        Assert.Equal("model.layers.1.self_attn.q_proj.bias", report.Loaded["model.language_model.layers.1.self_attn.q_proj.bias"]);
        using var file = SafetensorsFile.Open(TinyA);
        var state = State(model);
        foreach (var (name, stored) in report.Loaded)
        {
            using var expected = file.Read(stored);
            Assert.True(BitEqual(expected, state[name]), name);
        }
        using var embed = file.Read("model.embed_tokens.weight");
        Assert.True(BitEqual(embed, model.lm_head.weight!));
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void TinyA_RealModel_SavesTheSameBytesTransformersWrote_AndConfig()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = NewModel(TinyAConfig);
        CheckpointLoader.Load(model, TinyAFolder);

        var report = CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { Config = model.Config });

        Assert.Equal(["lm_head.weight"], report.DroppedTied);
        Assert.Equal(File.ReadAllBytes(TinyA), File.ReadAllBytes(dir.File("model.safetensors")));
        Assert.Equal(TinyAConfig.ToJson(), Qwen2_5_VLConfig.Load(dir.File("config.json")).ToJson());
        using var reloaded = NewModel(Qwen2_5_VLConfig.Load(dir.File("config.json")));
        Assert.True(CheckpointLoader.Load(reloaded, dir.Path).IsExact);
    }

    [Fact]
    public void TinyA_ShardedBf16_LoadsIntoBf16Model()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = NewModel(TinyAConfig);
        CheckpointLoader.Load(model, TinyAFolder);
        var saved = CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { DType = ScalarType.BFloat16, MaxShardSize = 400_000 });
        Assert.True(saved.Files.Count >= 3);
        using var target = NewModel(TinyAConfig, dtype: ScalarType.BFloat16);

        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.True(report.IsExact);
        var targetState = State(target);
        foreach (var (name, tensor) in State(model))
        {
            using var expected = tensor.to(ScalarType.BFloat16);
            Assert.True(BitEqual(expected, targetState[name]), name);
        }
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void TinyA_TextPart_LoadsIntoTheRealModelAsItIsOnMain()
    {
        // Whatever Qwen2_5_VLModel owns today: every module tensor is loaded or tied, and the only leftovers are
        // vision tensors when (and only when) the model has no vision tower of its own.
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyAConfig);
        bool hasVisual = model.named_parameters().Any(p => p.name.StartsWith("model.visual.", StringComparison.Ordinal));

        var report = CheckpointLoader.Load(model, TinyAFolder, new CheckpointLoadOptions { IgnoreUnexpected = [@"^visual\."] });

        Assert.Empty(report.Missing);
        Assert.Equal(hasVisual ? 0 : 54, report.Unexpected.Count);
        Assert.Equal("model.language_model.embed_tokens.weight", report.Tied["lm_head.weight"]);
    }

    [Fact]
    public void MetaDeviceModel_IsRejectedClearly()
    {
        using var model = NewModel(TinyAConfig, new Device("meta"));
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(model, TinyAFolder));
        Assert.Contains("is on the meta device", e.Message);
    }
}
