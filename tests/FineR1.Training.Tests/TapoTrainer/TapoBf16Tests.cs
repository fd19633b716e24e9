using FineR1.Core.Modeling;
using FineR1.Training.Optimization;
using FineR1.Training.Sft;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using TorchSharp;
using static TorchSharp.torch;
using Trainer = FineR1.Training.Tapo.Trainer.TapoTrainer;

namespace FineR1.Training.Tests.TapoTrainer;

/// <summary>TAPO on bf16 weights with the recipe's optimizer, and the trainable set the trainer takes from its options.</summary>
public sealed class TapoBf16Tests
{
    /// <summary>
    /// Three TAPO steps at the recipe's lr 1e-6 (step 1 runs at lr 0) of the same tiny model in float32 and in bf16, on
    /// the same rollouts (the bf16 run replays the float32 run's responses, so only the precision differs). Tolerances:
    /// the logged entropy (−mean log-prob ≈ 12 nats over a 151,936-token vocabulary) within 1 % — bf16 logits carry
    /// ≈ 2^-8 relative rounding, far below that; the effective update of the bf16 run (weight + Kahan compensation −
    /// start) within 25 % (relative L2) of the float32 update — AdamW's first steps move each weight by ≈ ±lr wherever its
    /// gradient is clearly non-zero, so bf16 gradients (≈ 1 % off) change the update only where a gradient is near zero
    /// and flips sign. TorchSharp's plain bf16 AdamW (the trainer's optimizer before) loses ≈ 100 % of the update.
    /// </summary>
    [Fact]
    [Trait("Category", "Bf16")]
    public void A_few_bf16_TAPO_steps_move_the_weights_and_the_loss_like_the_float32_run()
    {
        using var scope = NewDisposeScope();
        var samples = Enumerable.Range(0, 2).Select(i => TapoTestWorld.Sample(40 + i, "mixed")).ToList();
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 2, groups: 2, maxResponse: 4);
        Assert.Equal(1e-6, o.Optimization.LearningRate);
        var fp32 = TapoTestWorld.Model(seed: 4);
        using (no_grad()) foreach (var p in fp32.parameters()) p.copy_(p.to_type(ScalarType.BFloat16));   // bf16-representable start
        var bf16 = new Qwen2_5_VLForConditionalGeneration(fp32.Config, CPU, ScalarType.BFloat16);
        var start = Copy(fp32, bf16);

        var recorded = new List<List<(int Prompt, TapoRollout Rollout)>>();
        using var reference = new Trainer(fp32, TapoTestWorld.Encoder(), samples, o, new ScriptedReward());
        reference.GenerateRollouts = (draw, seed) =>
        {
            var rollouts = reference.RolloutEngine.Generate(draw, seed);
            recorded.Add(rollouts.Select(r => (draw.ToList().IndexOf(r.Prompt), r)).ToList());
            return rollouts;
        };
        using var trainer = new Trainer(bf16, TapoTestWorld.Encoder(), samples, o, new ScriptedReward());
        int replayed = 0;
        trainer.GenerateRollouts = (draw, _) => recorded[replayed++].Select(x => x.Rollout with { Prompt = draw[x.Prompt] }).ToList();
        Assert.Equal(ScalarType.BFloat16, trainer.Optimizer!.StateDType);              // the reference's AnyPrecisionAdamW
        Assert.True(trainer.Optimizer!.KahanSummation);

        for (int step = 0; step < 3; step++)
        {
            var a = reference.Step();
            var b = trainer.Step();
            Assert.Equal(a.Reward, b.Reward);                                            // same rollouts
            Assert.True(Math.Abs(a.Entropy - b.Entropy) <= 0.01 * a.Entropy, $"step {step + 1}: entropy {b.Entropy} (bf16) vs {a.Entropy}");
            Assert.True(b.OptimizerSteps == a.OptimizerSteps && b.SkippedOptimizerSteps == 0);
        }

        var compensation = trainer.Optimizer!.ExportState().Where(kv => kv.Key.EndsWith(".compensation", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[..^".compensation".Length], kv => kv.Value.to_type(ScalarType.Float64));
        double diff2 = 0, ref2 = 0;
        foreach (var (name, p) in bf16.UniqueParameters())
        {
            var w0 = start[name];
            var moved32 = fp32.state_dict()[name].to_type(ScalarType.Float64) - w0;
            var movedBf16 = p.to_type(ScalarType.Float64) + compensation[name] - w0;
            diff2 += (movedBf16 - moved32).square().sum().ToDouble();
            ref2 += moved32.square().sum().ToDouble();
        }
        Assert.True(ref2 > 0, "the float32 run did not move");
        double relative = Math.Sqrt(diff2 / ref2);
        Assert.True(relative < 0.25, $"bf16 update is {relative:P1} off the float32 update");
    }

    [Fact]
    public void Trainable_set_comes_from_the_options_whatever_an_earlier_SFT_froze()
    {
        using var scope = NewDisposeScope();
        var model = TapoTestWorld.Model(seed: 5);
        SftTrainer.ApplyFreezing(model, new SftOptions());                             // SFT: vision tower and merger frozen
        Assert.Contains(model.UniqueParameters(), p => !p.Parameter.requires_grad);
        var samples = Enumerable.Range(0, 2).Select(i => TapoTestWorld.Sample(50 + i)).ToList();

        using (var trainer = new Trainer(model, TapoTestWorld.Encoder(), samples, TapoTestWorld.Options()))
        {
            Assert.All(model.UniqueParameters(), p => Assert.True(p.Parameter.requires_grad, p.Name));
            Assert.Equal(model.UniqueParameters().Select(p => p.Name).Order(), trainer.TrainableParameterNames.Order());
        }
        var frozen = TapoTestWorld.Options();
        frozen.Optimization.FreezeVisionTower = true;
        using (var trainer = new Trainer(model, TapoTestWorld.Encoder(), samples, frozen))
        {
            Assert.All(model.UniqueParameters(), p => Assert.Equal(!p.Name.StartsWith("model.visual.", StringComparison.Ordinal), p.Parameter.requires_grad));
            Assert.DoesNotContain(trainer.TrainableParameterNames, n => n.StartsWith("model.visual.", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Tied_embeddings_get_one_optimizer_state_and_one_update_per_step()
    {
        using var scope = NewDisposeScope();
        var model = TapoTestWorld.Model(seed: 6);
        Assert.True(model.Config.Text.TieWordEmbeddings);
        // One tensor, two module paths (embed_tokens, lm_head): it must get one state, or it would move twice per step.
        using var optimizer = TrainingOptimizer.ForModel(model, new AdamWSettings(0.1, 0.0), OptimizerStatePrecision.WeightDType);
        Assert.DoesNotContain("lm_head.weight", optimizer.Names);
        Assert.Single(optimizer.Names, n => n.EndsWith("embed_tokens.weight", StringComparison.Ordinal));
        Assert.Equal(model.UniqueParameters().Count(), optimizer.Parameters.Count);

        // Adam's first step moves every weight with a non-zero gradient by exactly lr: 0.1, not 0.2 (two states).
        var embedding = model.lm_head.weight!;
        var before = embedding.detach().clone();
        using (no_grad()) embedding.grad = ones_like(embedding);
        foreach (var p in optimizer.Parameters) p.grad ??= zeros_like(p);
        optimizer.Step();
        var moved = (before - embedding.detach()).abs();
        Assert.True(allclose(moved, full_like(moved, 0.1), rtol: 0, atol: 1e-5), $"moved {moved.max().ToDouble()}");
    }

    private static Dictionary<string, Tensor> Copy(Qwen2_5_VLForConditionalGeneration from, Qwen2_5_VLForConditionalGeneration to)
    {
        var source = from.state_dict();
        using (no_grad()) foreach (var (name, t) in to.state_dict()) t.copy_(source[name]);
        return from.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().to_type(ScalarType.Float64));
    }
}
