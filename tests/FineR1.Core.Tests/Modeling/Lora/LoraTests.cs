using FineR1.Core.Checkpoints;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Common;
using FineR1.Core.Modeling.Lora;
using FineR1.Core.Tests.Modeling.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Lora;

/// <summary>LoRA injection, training, merge and adapter files on the HF tiny-a fixture model.</summary>
public sealed class LoraTests(ITestOutputHelper output)
{
    private static string TinyA => Path.Combine(TestPaths.Fixture("qwen2_5_vl"), "tiny-a");
    private static readonly LoraOptions Options = new() { Rank = 4, Alpha = 8 };

    private static (ParityFixture Fx, Qwen2_5_VLForConditionalGeneration Model) Load(Device? device = null, ScalarType? dtype = null)
    {
        var fx = ParityFixture.Open(TinyA);
        var (model, _) = fx.LoadModel(device, dtype);
        return (fx, model);
    }

    private static CausalLMOutput Run(ParityFixture fx, Qwen2_5_VLForConditionalGeneration model, Device? device = null)
    {
        device ??= CPU;
        var ids = fx.Tensor("input_ids").to(device);
        var labels = full_like(ids, LanguageModelLoss.IgnoreIndex);
        long length = ids.shape[1];
        labels[.., TensorIndex.Slice(length - 8)] = ids[.., TensorIndex.Slice(length - 8)];
        return model.forward(inputIds: ids, imageGridThw: fx.ImageGridThw(), pixelValues: fx.PixelValues().to(device), labels: labels);
    }

    /// <summary>Gives every lora_B random values (fresh adapters are zero and would hide mistakes).</summary>
    private static void RandomiseB(nn.Module model, int seed = 7)
    {
        manual_seed(seed);
        using var _ = no_grad();
        foreach (var (_, layer) in model.LoraLayers()) layer.B.copy_(randn_like(layer.B) * 0.05);
    }

    [Fact]
    public void Inject_WrapsEveryDecoderLinear_WithPeftNames_AndOnlyAdaptersTrainable()
    {
        var (fx, model) = Load();
        using var _f = fx; using var _m = model;
        using var scope = NewDisposeScope();
        model.eval();
        var before = Run(fx, model).Logits;
        var baseNames = model.named_parameters().Select(p => p.name).ToList();

        var wrapped = model.ApplyLora(Options);
        int layers = model.Config.Text.NumHiddenLayers;
        Assert.Equal(layers * 7, wrapped.Count);
        Assert.Contains("model.language_model.layers.0.self_attn.q_proj", wrapped);
        Assert.DoesNotContain(wrapped, w => w.StartsWith("model.visual", StringComparison.Ordinal));

        var names = model.named_parameters().Select(p => p.name).ToList();
        // PEFT names, in HF order: the wrapped layer's base weights, then its adapters, then the next layer.
        string q = "model.language_model.layers.0.self_attn.q_proj.";
        int at = names.IndexOf(q + "base_layer.weight");
        Assert.Equal([q + "base_layer.weight", q + "base_layer.bias", q + "lora_A.default.weight", q + "lora_B.default.weight",
            "model.language_model.layers.0.self_attn.k_proj.base_layer.weight"], names.Skip(at).Take(5));
        // Base names map 1:1 once "base_layer." is dropped.
        Assert.Equal(baseNames, names.Where(n => !LoraInjection.IsLoraParameterName(n)).Select(n => n.Replace("base_layer.", "")));

        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(layers * 7 * 2, trainable.Count);
        Assert.All(trainable, n => Assert.True(LoraInjection.IsLoraParameterName(n), n));
        Assert.Equal(trainable, model.LoraParameters().Select(p => p.Name));

        var layer = (LoraLinear)model.model.language_model.layers[0].mlp.down_proj;
        Assert.Equal([4, model.Config.Text.IntermediateSize], layer.A.shape);
        Assert.Equal([model.Config.Text.HiddenSize, 4], layer.B.shape);
        Assert.Equal(2.0, layer.Scaling);
        Assert.Equal(0f, layer.B.abs().max().item<float>());
        // kaiming_uniform(a=√5): bound = 1/√fan_in.
        double bound = 1 / Math.Sqrt(model.Config.Text.IntermediateSize);
        Assert.True(layer.A.abs().max().item<float>() <= bound && layer.A.std().item<float>() > bound / 4);

        // Zero B: the output is unchanged.
        Assert.True(Run(fx, model).Logits.eq(before).all().item<bool>());
        Assert.Throws<InvalidOperationException>(() => model.ApplyLora(Options));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainingSteps_ChangeOnlyAdapters(bool checkpointing)
    {
        var (fx, model) = Load();
        using var _f = fx; using var _m = model;
        using var scope = NewDisposeScope();
        model.ApplyLora(new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0.1 });
        if (checkpointing) model.EnableGradientCheckpointing();
        model.train();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var optimizer = optim.AdamW(model.LoraParameters().Select(p => p.Parameter), lr: 1e-2);
        for (int step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            var loss = Run(fx, model).Loss!;
            loss.backward();
            optimizer.step();
        }
        foreach (var (name, p) in model.named_parameters())
        {
            bool same = p.eq(before[name]).all().item<bool>();
            if (LoraInjection.IsLoraParameterName(name)) Assert.False(same, $"{name} did not change");
            else Assert.True(same, $"{name} changed");
        }
        foreach (var (name, p) in model.named_parameters().Where(p => !LoraInjection.IsLoraParameterName(p.name)))
            Assert.Null(p.grad);
    }

    [Fact]
    public void CheckpointedAdapterGradients_EqualPlain()
    {
        var (fx, model) = Load();
        using var _f = fx; using var _m = model;
        using var scope = NewDisposeScope();
        model.ApplyLora(Options);
        RandomiseB(model);
        model.train();
        Run(fx, model).Loss!.backward();
        var plain = model.LoraParameters().ToDictionary(p => p.Name, p => p.Parameter.grad!.clone());
        model.zero_grad();
        model.EnableGradientCheckpointing();
        Run(fx, model).Loss!.backward();
        double worst = 0;
        foreach (var (name, p) in model.LoraParameters())
        {
            double rel = ParityFixture.RelativeError(p.grad!, plain[name]);
            worst = Math.Max(worst, rel);
            Assert.True(rel <= 1e-6, $"{name}: rel {rel:E3}");
        }
        output.WriteLine($"{plain.Count} adapter gradients, worst rel {worst:E3}");
    }

    [Fact]
    public void MergeAndUnload_EqualsAdapterModel_AndRestoresHfNames()
    {
        var (fx, model) = Load();
        using var _f = fx; using var _m = model;
        using var scope = NewDisposeScope();
        var hfNames = model.named_parameters().Select(p => p.name).ToList();
        model.ApplyLora(Options);
        RandomiseB(model);
        model.eval();
        var adapterLogits = Run(fx, model).Logits;
        var expected = model.LoraLayers().ToDictionary(l => l.Path + ".weight",
            l => l.Layer.base_layer.weight!.detach() + matmul(l.Layer.B, l.Layer.A) * l.Layer.Scaling);

        var merged = model.MergeAndUnload();
        Assert.Equal(expected.Count, merged.Count);
        Assert.IsType<Linear>(model.model.language_model.layers[1].self_attn.o_proj);
        Assert.Equal(hfNames, model.named_parameters().Select(p => p.name));
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, w) in expected)
            Assert.True(allclose(parameters[name], w, rtol: 1e-6, atol: 1e-7), name);

        var mergedLogits = Run(fx, model).Logits;
        double rel = ParityFixture.RelativeError(mergedLogits, adapterLogits);
        output.WriteLine($"merged vs adapter logits: rel {rel:E3}");
        Assert.True(rel <= 1e-5, $"rel {rel:E3}");

        using var dir = new TempDir();
        var report = CheckpointWriter.Save(model, dir.Path);
        Assert.DoesNotContain(report.WeightMap.Keys, k => k.Contains("lora") || k.Contains("base_layer"));
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", report.WeightMap.Keys);   // default key style: transformers 4.x
    }

    [Fact]
    public void AdapterFiles_RoundTrip_InPeftLayout()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var (fx, trained) = Load();
        using var _f = fx; using var _t = trained;
        trained.ApplyLora(Options);
        RandomiseB(trained);
        trained.eval();
        var expected = Run(fx, trained).Logits;
        LoraAdapter.Save(trained, dir.Path, Options);

        using (var file = SafetensorsFile.Open(Path.Combine(dir.Path, LoraAdapter.WeightsFileName)))
        {
            Assert.Equal(trained.LoraParameters().Count(), file.Entries.Count);
            Assert.Contains("base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight", file.Entries.Keys);
        }
        var config = File.ReadAllText(Path.Combine(dir.Path, LoraAdapter.ConfigFileName));
        Assert.Contains("\"peft_type\": \"LORA\"", config);
        Assert.Contains("\"r\": 4", config);

        var (_, fresh) = Load();
        using var _n = fresh;
        var options = LoraAdapter.Load(fresh, dir.Path);
        Assert.Equal(4, options.Rank);
        Assert.Equal(8.0, options.Alpha);
        fresh.eval();
        Assert.True(Run(fx, fresh).Logits.eq(expected).all().item<bool>());
    }

    [Fact]
    public void AdapterFiles_BadInput_ThrowsNamingTheFile()
    {
        using var dir = new TempDir();
        var (fx, model) = Load();
        using var _f = fx; using var _m = model;
        var e = Assert.Throws<CheckpointException>(() => LoraAdapter.Load(model, dir.Path));
        Assert.Contains(LoraAdapter.ConfigFileName, e.Message);

        model.ApplyLora(Options);
        LoraAdapter.Save(model, dir.Path, Options);
        var (_, other) = Load();
        using var _o = other;
        other.ApplyLora(new LoraOptions { Rank = 2 });                    // rank disagrees with the file
        e = Assert.Throws<CheckpointException>(() => LoraAdapter.Load(other, dir.Path));
        Assert.Contains(LoraAdapter.WeightsFileName, e.Message);
        Assert.Contains("shape", e.Message);

        File.WriteAllText(Path.Combine(dir.Path, LoraAdapter.ConfigFileName), "{\"peft_type\": \"IA3\", \"target_modules\": []}");
        e = Assert.Throws<CheckpointException>(() => LoraAdapter.ReadOptions(dir.Path));
        Assert.Contains("IA3", e.Message);
    }

    [Fact]
    [Trait("Category", "Gpu")]
    public void Bf16OnCuda_TrainsAndMerges()
    {
        Gpu.RequireCuda();
        var cuda = new Device(DeviceType.CUDA);
        var (fx, model) = Load(cuda, ScalarType.BFloat16);
        using var _f = fx; using var _m = model;
        using var scope = NewDisposeScope();
        model.ApplyLora(Options);
        var layer = (LoraLinear)model.model.language_model.layers[0].self_attn.q_proj;
        Assert.Equal(ScalarType.BFloat16, layer.A.dtype);
        Assert.Equal(DeviceType.CUDA, layer.B.device_type);
        model.EnableGradientCheckpointing();
        model.train();
        var baseWeight = layer.base_layer.weight!.detach().clone();
        var optimizer = optim.AdamW(model.LoraParameters().Select(p => p.Parameter), lr: 1e-2);
        for (int step = 0; step < 2; step++)
        {
            optimizer.zero_grad();
            Run(fx, model, cuda).Loss!.backward();
            optimizer.step();
        }
        Assert.True(layer.base_layer.weight!.eq(baseWeight).all().item<bool>());
        model.eval();
        var adapterLogits = Run(fx, model, cuda).Logits.to(ScalarType.Float32);
        model.MergeAndUnload();
        var mergedLogits = Run(fx, model, cuda).Logits.to(ScalarType.Float32);
        double rel = ParityFixture.RelativeError(mergedLogits, adapterLogits);
        output.WriteLine($"bf16 merged vs adapter logits: rel {rel:E3}");
        Assert.True(rel <= 2e-2, $"rel {rel:E3}");   // bf16 rounding of W + ΔW
    }
}
