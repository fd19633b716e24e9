using FineR1.Core.Imaging;
using FineR1.Core.Generation;
using FineR1.Core.Text.Rewards;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.TapoTrainer;

public class TapoRolloutTests
{
    [Fact]
    public void Group_holds_n_anchor_then_n_positive_rows_sharing_one_uid()
    {
        var model = TapoTestWorld.Model();
        var encoder = TapoTestWorld.Encoder();
        var options = TapoTestWorld.Options(n: 3);
        var engine = new TapoRolloutEngine(model, encoder.Tokenizer, new FineR1ClassificationReward(), options.Rollout);
        using var p0 = encoder.Encode(TapoTestWorld.Sample(1), "u0");
        using var p1 = encoder.Encode(TapoTestWorld.Sample(2), "u1");

        var rollouts = engine.Generate([p0, p1], seed: 5);

        Assert.Equal(2 * 2 * 3, rollouts.Count);
        for (int p = 0; p < 2; p++)
        {
            var group = rollouts.Skip(p * 6).Take(6).ToList();
            Assert.All(group, r => Assert.Equal(p == 0 ? "u0" : "u1", r.Row.GroupId));
            Assert.All(group.Take(3), r => Assert.Equal(TripletImage.Anchor, r.Row.GeneratedFrom));
            Assert.All(group.Skip(3), r => Assert.Equal(TripletImage.Positive, r.Row.GeneratedFrom));
            Assert.Equal([0, 1, 2, 0, 1, 2], group.Select(r => r.Row.SampleIndex));
        }
        foreach (var r in rollouts)
        {
            Assert.DoesNotContain(engine.ImagePadId, r.ResponseIds);
            Assert.InRange(r.ResponseIds.Length, 1, options.Rollout.MaxResponseLength);
            if (r.FinishReason == FinishReason.Stop) Assert.Contains(r.ResponseIds[^1], engine.StopTokenIds);
            else Assert.Equal(options.Rollout.MaxResponseLength, r.ResponseIds.Length);
            Assert.InRange(r.Score.Overall, 0, 1);
        }
    }

    /// <summary>
    /// Documented difference (docs/tapo-trainer.md, "Sampling randomness"): the reference's vLLM gets
    /// <c>SamplingParams.seed = 1</c>, so sample k of every prompt is drawn with a generator seeded 1 + k at every step;
    /// FineR1 draws all rows of a generation call from one generator seeded per draw, so rows are independent.
    /// </summary>
    [Fact]
    public void Rows_of_a_draw_use_independent_random_streams_and_a_seed_reproduces_them()
    {
        var model = TapoTestWorld.Model();
        var encoder = TapoTestWorld.Encoder();
        var options = TapoTestWorld.Options(n: 3);
        var engine = new TapoRolloutEngine(model, encoder.Tokenizer, new FineR1ClassificationReward(), options.Rollout);
        using var p0 = encoder.Encode(TapoTestWorld.Sample(1), "u0");
        using var p1 = encoder.Encode(TapoTestWorld.Sample(1), "u1");        // the same prompt and images again

        var first = engine.Generate([p0, p1], seed: 5);
        // In the reference row k of u0 and row k of u1 would be identical (same input, same per-sample seed).
        Assert.Contains(Enumerable.Range(0, 6), i => !first[i].ResponseIds.SequenceEqual(first[6 + i].ResponseIds));
        var again = engine.Generate([p0, p1], seed: 5);
        Assert.All(Enumerable.Range(0, 12), i => Assert.Equal(first[i].ResponseIds, again[i].ResponseIds));
    }

    [Fact]
    public void Sampling_options_follow_the_recipe()
    {
        var options = TapoOptions.FineR1_3B();
        var engine = new TapoRolloutEngine(TapoTestWorld.Model(), TapoTestWorld.Tokenizer, new FineR1ClassificationReward(), options.Rollout);
        var g = engine.SamplingOptions(1);
        Assert.True(g.DoSample);
        Assert.Equal(1.0, g.Temperature);
        Assert.Equal(0.99, g.TopP);
        Assert.Equal(0, g.TopK);                 // −1 in the recipe = off
        Assert.Equal(2048, g.MaxNewTokens);
        Assert.Equal([GenerationOptions.QwenImagePadTokenId], g.BannedTokenIds);
        Assert.Equal([GenerationOptions.QwenImEndTokenId, GenerationOptions.QwenEndOfTextTokenId], g.StopTokenIds);
    }

    [Fact]
    public void Prompt_ids_come_from_the_anchor_and_match_the_generation_image_grid()
    {
        var encoder = TapoTestWorld.Encoder();
        using var p = encoder.Encode(TapoTestWorld.Sample(3), "u");
        Assert.Equal(new VisionGrid(1, 4, 4), p.Grid);
        Assert.Equal(4, p.PromptIds.Count(i => i == 151655));                  // 16 patches / 4
        Assert.Equal(p.Anchor.shape, p.Negative.shape);
        var text = encoder.Tokenizer.Decode(p.PromptIds.Select(i => (int)i));
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>", text);
        Assert.EndsWith("</answer> tags.<|im_end|>\n<|im_start|>assistant\n", text);
    }

    [Fact]
    public void Log_probs_depend_on_the_conditioning_image_and_match_a_full_forward()
    {
        var model = TapoTestWorld.Model();
        using var p = TapoTestWorld.Encoder().Encode(TapoTestWorld.Sample(4), "u");
        using var ids = tensor(new long[] { 13, 220, 151645 }, [1, 3], ScalarType.Int64);
        using var mask = ones([1, 3], ScalarType.Int64);
        using var noGrad = no_grad();
        using var anchor = TapoLogProbs.Compute(model, [new LogProbRow(p.PromptIds, p.Anchor, p.Grid)], ids, mask, 1.0, 151643);
        using var positive = TapoLogProbs.Compute(model, [new LogProbRow(p.PromptIds, p.Positive, p.Grid)], ids, mask, 1.0, 151643);
        Assert.True((anchor - positive).abs().max().ToDouble() > 1e-6);

        // Independent check: log_softmax of a plain forward over prompt ‖ response (positions computed by the model).
        var full = tensor(p.PromptIds.Concat([13L, 220, 151645]).ToArray(), [1, p.PromptIds.Length + 3], ScalarType.Int64);
        var logits = model.forward(inputIds: full, imageGridThw: VisionGrid.ToTensor([p.Grid]), pixelValues: p.Anchor).Logits;
        var expected = logits.narrow(1, p.PromptIds.Length - 1, 3).log_softmax(-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1);
        Assert.True((anchor - expected).abs().max().ToDouble() < 1e-5);

        // Left padding in a batch does not change a row's log-probs.
        var shortPrompt = new LogProbRow(p.PromptIds.Skip(3).ToArray(), p.Anchor, p.Grid);
        using var batched = TapoLogProbs.Compute(model, [new LogProbRow(p.PromptIds, p.Anchor, p.Grid), shortPrompt],
            cat([ids, ids], 0), cat([mask, mask], 0), 1.0, 151643);
        Assert.True((batched.narrow(0, 0, 1) - anchor).abs().max().ToDouble() < 1e-5);
    }
}
