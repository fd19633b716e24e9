using FineR1.Core.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static FineR1.Core.Tests.Checkpoints.CheckpointTestFiles;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Checkpoints;

public sealed class CheckpointLoaderTests
{
    [Fact]
    [Trait("Category", "Parity")]
    public void Fixture_LoadsIntoModuleBuiltFromItsHeader_BitExact()
    {
        using var module = NamedTensorModule.FromHeader(TinyA);
        var report = CheckpointLoader.Load(module, TinyA);

        using var file = SafetensorsFile.Open(TinyA);
        Assert.Equal(file.Entries.Count, report.Loaded.Count);
        Assert.True(report.IsExact);
        Assert.Equal(new FileInfo(TinyA).Length - 8 - 7840, report.BytesRead);
        foreach (var (name, tensor) in State(module))
        {
            using var expected = file.Read(name);
            Assert.True(BitEqual(expected, tensor), name);
        }
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void Fixture_HubNames_LoadInto5xNamedModule_WithTiedLmHead()
    {
        // tiny-a is written by transformers 5.17 save_pretrained, which stores the Hub (4.x) spelling.
        using var module = NamedTensorModule.FromHeader(TinyA, CheckpointKeys.ToTransformers5);
        var embed = State(module)["model.language_model.embed_tokens.weight"];
        module.Add("lm_head.weight", embed.shape, parameter: (Parameter)embed);

        var report = CheckpointLoader.Load(module, Path.GetDirectoryName(TinyA)!);

        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        Assert.Equal("model.language_model.embed_tokens.weight", report.Tied["lm_head.weight"]);
        Assert.Equal("visual.patch_embed.proj.weight", report.Loaded["model.visual.patch_embed.proj.weight"]);
        using var file = SafetensorsFile.Open(TinyA);
        using var expected = file.Read("model.embed_tokens.weight");
        Assert.True(BitEqual(expected, State(module)["lm_head.weight"]));
        foreach (var (name, tensor) in State(module).Where(kv => kv.Key != "lm_head.weight"))
        {
            using var e = file.Read(CheckpointKeys.ToTransformers4(name));
            Assert.True(BitEqual(e, tensor), name);
        }
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void Fixture_Renamed5xCopy_LoadsSameTensorsIntoBothSpellings()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = NamedTensorModule.FromHeader(TinyA);
        CheckpointLoader.Load(source, TinyA);
        CheckpointWriter.Save(source, dir.Path, new CheckpointSaveOptions { KeyStyle = CheckpointKeyStyle.Transformers5 });
        using (var written = SafetensorsFile.Open(dir.File("model.safetensors")))
        {
            Assert.Contains("model.language_model.embed_tokens.weight", written.Entries.Keys);
            Assert.Contains("model.visual.merger.mlp.0.weight", written.Entries.Keys);
        }

        using var legacy = NamedTensorModule.FromHeader(TinyA);            // module in 4.x names, file in 5.x names
        using var modern = NamedTensorModule.FromHeader(TinyA, CheckpointKeys.ToTransformers5);
        Assert.True(CheckpointLoader.Load(legacy, dir.Path).IsExact);
        Assert.True(CheckpointLoader.Load(modern, dir.Path).IsExact);
        var modernState = State(modern);
        foreach (var (name, tensor) in State(source))
        {
            Assert.True(BitEqual(tensor, State(legacy)[name]), name);
            Assert.True(BitEqual(tensor, modernState[CheckpointKeys.ToTransformers5(name)]), name);
        }
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(ScalarType.Float16, ScalarType.Float32)]
    [InlineData(ScalarType.Float32, ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32, ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16, ScalarType.Float16)]
    public void StoredDType_IsConvertedToTheModuleDType(ScalarType stored, ScalarType moduleType)
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false).Randomize(1);
        CheckpointWriter.Save(source, dir.Path, new CheckpointSaveOptions { DType = stored });
        using var target = new TinyVl(tied: false, moduleType);

        CheckpointLoader.Load(target, dir.Path);

        var targetState = State(target);
        foreach (var (name, tensor) in State(source))
        {
            Assert.Equal(moduleType, targetState[name].dtype);
            using var expected = tensor.to(stored).to(moduleType);     // what PyTorch's copy_ gives
            Assert.True(BitEqual(expected, targetState[name]), name);
        }
    }

    [Fact]
    public void Sharded_LoadsEveryShardThroughTheIndex()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false).Randomize(2);
        var saved = CheckpointWriter.Save(source, dir.Path, new CheckpointSaveOptions { MaxShardSize = 600 });
        Assert.True(saved.Files.Count > 2);
        using var target = new TinyVl(tied: false);

        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.Equal(saved.Files.Count, report.Files.Count);
        Assert.True(report.IsExact);
        foreach (var (name, tensor) in State(source)) Assert.True(BitEqual(tensor, State(target)[name]), name);
    }

    [Fact]
    public void TiedModule_LoadsFromCheckpointWithoutLmHead_AndSharesTheTensor()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: true).Randomize(3);
        var saved = CheckpointWriter.Save(source, dir.Path);
        Assert.Equal(["lm_head.weight"], saved.DroppedTied);
        Assert.DoesNotContain("lm_head.weight", saved.WeightMap.Keys);

        using var target = new TinyVl(tied: true);
        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.Equal("model.language_model.embed_tokens.weight", report.Tied["lm_head.weight"]);
        Assert.True(BitEqual(source.lm_head.weight!, target.lm_head.weight!));
        using (torch.no_grad()) target.model.language_model.embed_tokens.weight!.fill_(0.5f);   // still one tensor
        Assert.Equal(0.5f, target.lm_head.weight!.mean().item<float>());
    }

    [Fact]
    public void TiedWeights_AreFoundThroughStoragePointers_OnAnyDevice()
    {
        Assert.True(ModuleTensors.HasStoragePointer);
        using var tied = new TinyVl(tied: true);
        var groups = ModuleTensors.Collect(tied).ToDictionary(t => t.Name, t => t.Group);
        Assert.Equal(groups["model.language_model.embed_tokens.weight"], groups["lm_head.weight"]);
        Assert.Equal(groups.Count - 1, groups.Values.Distinct().Count());
        using var untied = new TinyVl(tied: false);
        Assert.Equal(ModuleTensors.Collect(untied).Count, ModuleTensors.Collect(untied).Select(t => t.Group).Distinct().Count());
    }

    [Fact]
    [Trait("Category", "Gpu")]
    public void Gpu_TiedModule_LoadsBf16IntoCuda()
    {
        Gpu.RequireCuda();
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: true).Randomize(8);
        CheckpointWriter.Save(source, dir.Path, new CheckpointSaveOptions { DType = ScalarType.BFloat16 });
        using var target = new TinyVl(tied: true, ScalarType.BFloat16);
        target.to(CUDA);
        target.Retie();

        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.Equal("model.language_model.embed_tokens.weight", report.Tied["lm_head.weight"]);
        using var expected = source.lm_head.weight!.to(ScalarType.BFloat16);
        Assert.True(BitEqual(expected, target.lm_head.weight!));
        Assert.Equal(DeviceType.CUDA, target.lm_head.weight!.device_type);
    }

    [Fact]
    public void UntiedModule_MissingLmHead_IsReportedByName()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: true).Randomize(4);
        CheckpointWriter.Save(source, dir.Path);
        using var target = new TinyVl(tied: false);

        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(target, dir.Path));
        Assert.Contains("1 module tensor(s) missing", e.Message);
        Assert.Contains("'lm_head.weight'", e.Message);

        var report = CheckpointLoader.Load(target, dir.Path, new CheckpointLoadOptions { IgnoreMissing = [@"^lm_head\."] });
        Assert.Equal(["lm_head.weight"], report.Missing);
    }

    [Fact]
    public void CheckpointStoringBothTiedNames_ReadsOnce_AndReportsTheDuplicate()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false).Randomize(5);
        CheckpointWriter.Save(source, dir.Path);
        using var target = new TinyVl(tied: true);

        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.Equal(["lm_head.weight"], report.TiedDuplicates);
        Assert.True(BitEqual(source.model.language_model.embed_tokens.weight!, target.lm_head.weight!));
    }

    [Fact]
    public void UnexpectedTensors_AreAnError_UnlessAllowed()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false).Randomize(6);
        CheckpointWriter.Save(source, dir.Path);
        using var smaller = new NamedTensorModule();
        smaller.Add("lm_head.weight", [16, 8]);

        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(smaller, dir.Path));
        Assert.Contains("have no counterpart in the module", e.Message);
        Assert.Contains("'visual.proj.bias'", e.Message);
        Assert.Equal(dir.Path, e.FilePath);

        var report = CheckpointLoader.Load(smaller, dir.Path, new CheckpointLoadOptions { AllowUnexpected = true });
        Assert.Equal(["lm_head.weight"], report.Loaded.Keys);
        Assert.Contains("model.embed_tokens.weight", report.Unexpected);
        var patterns = CheckpointLoader.Load(smaller, dir.Path, new CheckpointLoadOptions { IgnoreUnexpected = ["^model\\.", "^visual\\."] });
        Assert.Equal(report.Unexpected.Count, patterns.Unexpected.Count);
    }

    [Fact]
    public void ShapeMismatch_NamesBothShapes_AndLeavesTheModuleUntouched()
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false).Randomize(7);
        CheckpointWriter.Save(source, dir.Path);
        using var target = new NamedTensorModule();
        foreach (var (name, t) in State(source))
            target.Add(CheckpointKeys.ToTransformers4(name), name == "model.language_model.norm.weight" ? [9] : t.shape);

        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(target, dir.Path));

        Assert.Contains("'model.norm.weight' has shape [8] in the checkpoint", e.Message);
        Assert.Contains("module's 'model.norm.weight' has shape [9]", e.Message);
        Assert.EndsWith("model.safetensors", e.FilePath);
        Assert.All(State(target).Values, t => Assert.Equal(0, t.abs().sum().item<float>()));
    }

    [Fact]
    public void MixedSpellingsOfOneTensor_AreRejected()
    {
        using var dir = TestPaths.NewTempDir();
        var a = torch.ones(2);
        var b = torch.zeros(2);
        SafetensorsWriter.Write(dir.File("model.safetensors"), [new("model.norm.weight", a), new("model.language_model.norm.weight", b)]);
        using var target = new NamedTensorModule();
        target.Add("model.language_model.norm.weight", [2]);

        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(target, dir.Path));
        Assert.Contains("both map to the module's 'model.language_model.norm.weight'", e.Message);
    }

    [Fact]
    public void LoadIntoNonContiguousOrOtherDtypeDestination_GoesThroughCopy()
    {
        using var dir = TestPaths.NewTempDir();
        var data = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        SafetensorsWriter.Write(dir.File("model.safetensors"), [new("w", data)]);
        using var target = new NamedTensorModule();
        var parameter = target.Add("w", [2, 3], ScalarType.Float64);

        CheckpointLoader.Load(target, dir.Path);

        Assert.Equal(15.0, parameter.sum().item<double>());
        Assert.True(parameter.requires_grad);
    }
}

public sealed class CheckpointRealModuleTests
{
    [Theory]
    [Trait("Category", "Parity")]
    [InlineData("model.visual.")]
    [InlineData("visual.")]
    public void Fixture_VisionPart_LoadsIntoTheRealVisionTower_Exactly(string prefix)
    {
        var config = FineR1.Core.Configuration.Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));
        using var tower = new FineR1.Core.Modeling.Vision.Qwen2_5_VisionTransformerPretrainedModel(config.Vision);

        var report = CheckpointLoader.Load(tower, Path.GetDirectoryName(CheckpointTestFiles.TinyA)!, new CheckpointLoadOptions { Prefix = prefix });

        Assert.True(report.IsExact);
        Assert.Equal(tower.state_dict().Count, report.Loaded.Count);
        using var file = SafetensorsFile.Open(CheckpointTestFiles.TinyA);
        using var expected = file.Read("visual.blocks.3.attn.qkv.weight");
        Assert.True(CheckpointTestFiles.BitEqual(expected, tower.blocks[3].attn.qkv.weight!));
    }
}
