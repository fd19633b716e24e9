using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using FineR1.Training.Optimization;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Distributed;

/// <summary>A tiny Qwen2.5-VL (the real architecture, 32-wide, 64-token vocabulary) and token batches for data-parallel tests.</summary>
internal static class DistributedTestKit
{
    public static Qwen2_5_VLConfig Config { get; } = SftTestKit.TinyConfig with { Text = SftTestKit.TinyConfig.Text with { VocabSize = 64 } };

    /// <summary>Same seed, same weights; the vision tower is frozen (text-only batches give it no gradient).</summary>
    public static Qwen2_5_VLForConditionalGeneration NewModel(int seed = 11, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var model = SftTestKit.NewModel(seed, Config);
        if (dtype != ScalarType.Float32 || device is not null)
        {
            // Module.to on the tied head disposes a shared tensor in TorchSharp; build in place and copy the weights instead.
            var converted = new Qwen2_5_VLForConditionalGeneration(Config, device ?? CPU, dtype);
            var source = model.state_dict();
            using (no_grad())
                foreach (var (name, t) in converted.state_dict()) t.copy_(source[name]);
            model.Dispose();
            model = converted;
        }
        foreach (var (name, p) in model.named_parameters())
            if (name.StartsWith("model.visual.", StringComparison.Ordinal)) p.requires_grad = false;
        return model;
    }

    public static List<(string Name, Parameter Parameter)> Trainable(Qwen2_5_VLForConditionalGeneration model) =>
        model.UniqueParameters().Where(p => p.Parameter.requires_grad).ToList();

    /// <summary>Micro-batch <paramref name="index"/> of step <paramref name="step"/>: [2, 12] token ids (deterministic).</summary>
    public static long[] Tokens(int step, int index)
    {
        var random = new Random(1000 * step + index);
        return Enumerable.Range(0, 2 * 12).Select(_ => (long)random.Next(64)).ToArray();
    }

    /// <summary>Next-token loss of one micro-batch, summed and divided by the step's supervised-token count (SFT's normalisation).</summary>
    public static Tensor Loss(Qwen2_5_VLForConditionalGeneration model, long[] tokens, long stepTokens)
    {
        var device = model.lm_head.weight!.device;
        var ids = tensor(tokens, [2, 12], ScalarType.Int64).to(device);
        var logits = model.forward(inputIds: ids).Logits;
        return LanguageModelLoss.Compute(logits, ids, stepTokens);
    }

    /// <summary>
    /// ε = 1e-5 instead of 1e-8: the key projections' biases have an exact gradient of zero (softmax ignores a shift
    /// shared by all keys), so their computed gradient is float32 noise (~1e-10) that Adam with ε = 1e-8 turns into ±lr
    /// updates; any change in summation order then flips them. With ε = 1e-5 such noise moves a weight by at most ~lr·1e-5,
    /// while real gradients (≥ 1e-4 here) still get Adam's normalised steps.
    /// </summary>
    /// <summary>
    /// Back-propagates rank <paramref name="rank"/>'s share of step <paramref name="step"/>: micro-batches j (of
    /// <paramref name="microBatches"/>) with j mod <paramref name="world"/> = rank, each loss divided by the step's tokens.
    /// </summary>
    public static void Backward(Qwen2_5_VLForConditionalGeneration model, int step, int microBatches, int rank = 0, int world = 1)
    {
        foreach (int j in Enumerable.Range(0, microBatches).Where(j => j % world == rank))
            using (NewDisposeScope()) Loss(model, Tokens(step, j), microBatches * 2 * 11).backward();
    }

    public static AdamWSettings AdamW { get; } = new(LearningRate: 3e-3, WeightDecay: 0.1, Epsilon: 1e-5);

    public static bool Decays(string name) => !ParameterGroups.IsNoDecayName(name);

    /// <summary>
    /// The single-process reference: <paramref name="steps"/> steps of <paramref name="microBatches"/> micro-batches each,
    /// AnyPrecisionAdamW (decay / no-decay groups) after global-norm clipping. Returns the final trainable weights.
    /// </summary>
    public static Dictionary<string, Tensor> SingleProcess(int steps, int microBatches, double maxNorm, ScalarType dtype = ScalarType.Float32,
        bool kahan = false, Device? device = null)
    {
        using var model = NewModel(dtype: dtype, device: device);
        var trainable = Trainable(model);
        using var decay = new AnyPrecisionAdamW(trainable.Where(t => Decays(t.Name)).Select(t => t.Parameter), AdamW, ScalarType.Float32, kahan);
        using var noDecay = new AnyPrecisionAdamW(trainable.Where(t => !Decays(t.Name)).Select(t => t.Parameter), AdamW with { WeightDecay = 0 },
            ScalarType.Float32, kahan);
        for (int step = 0; step < steps; step++)
        {
            Backward(model, step, microBatches);
            using (NewDisposeScope())
                GradientClipping.ClipAndStep(trainable.Select(t => t.Parameter).ToList(), () => { decay.Step(); noDecay.Step(); }, maxNorm);
        }
        return trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().cpu().clone());
    }

    /// <summary>Largest absolute difference over all tensors of two weight sets.</summary>
    public static double MaxDifference(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Max(kv => (kv.Value.to_type(ScalarType.Float64) - b[kv.Key].to_type(ScalarType.Float64)).abs().max().ToDouble());
    }
}
