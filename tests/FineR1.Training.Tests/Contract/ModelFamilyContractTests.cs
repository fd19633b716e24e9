using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Processing;
using FineR1.Training.Sft;
using FineR1.Training.Tapo.Trainer;
using FineR1.Training.Tests.Sft;
using FineR1.Training.Tests.TapoTrainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Contract;

/// <summary>
/// The trainers need nothing but <see cref="IVisionLanguageModel"/> (docs/architecture.md, "Adding a model family"):
/// SFT and TAPO run a <see cref="WrappedFamily"/> — a model that is not the Qwen class and is reached only through the
/// contract — exactly as they run Qwen2.5-VL itself (same losses, gradient norms, weights and checkpoint config), and the
/// positions the model derives in its forward are the explicit M-RoPE positions the trainers used to pass.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ModelFamilyContractTests(SftSynthFixture data) : IClassFixture<SftSynthFixture>
{
    private static readonly Qwen2VLImageProcessor Processor = new(new() { MaxPixels = 768 * 768, MinPixels = 32 * 32 });

    private (IReadOnlyList<SftExample> Examples, CompactVocabulary Vocabulary) Examples(int count, int maxLength)
    {
        var encoder = new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), maxLength);
        var real = encoder.EncodeAll(data.Records.Take(count).ToList());
        var vocabulary = new CompactVocabulary(real);
        return (vocabulary.Apply(real), vocabulary);
    }

    private static Dictionary<string, Tensor> Weights(IVisionLanguageModel model) =>
        model.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    private static void AssertSameWeights(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, kv => Assert.True(kv.Value.Same(actual[kv.Key]), $"{kv.Key} differs"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SFT_trains_a_family_seen_only_through_the_contract_as_it_trains_Qwen(bool lora)
    {
        var (examples, vocabulary) = Examples(4, 200);
        (SftRunResult Result, Dictionary<string, Tensor> Before, Dictionary<string, Tensor> After, string ConfigJson, WrappedFamily Family) Run(bool wrapped)
        {
            using var dir = new TempDir();
            var qwen = SftTestKit.NewModel(7, vocabulary.Config);
            var family = new WrappedFamily(qwen);
            var before = Weights(qwen);
            var options = new SftOptions
            {
                MaxLength = 200, MicroBatchSize = 2, GradientAccumulationSteps = 1, Epochs = 1, LearningRate = 2e-3, WarmupSteps = 1,
                Checkpointing = { OutputDir = dir.Path, KeepLast = 1 },
                Lora = { Enabled = lora, Rank = 4 },
            };
            var result = new SftTrainer(wrapped ? family : qwen, SftTestKit.Tokenizer, options) { PadTokenId = vocabulary.PadTokenId }.Train(examples);
            var config = File.ReadAllText(Path.Combine(result.LastCheckpoint!, "config.json"));
            return (result, before, Weights(qwen), config, family);
        }

        var qwenRun = Run(wrapped: false);
        var familyRun = Run(wrapped: true);

        Assert.Equal(2, familyRun.Family.Forwards);                                    // 2 steps of one micro-batch, through Forward
        Assert.Equal(qwenRun.Result.Steps.Select(s => (s.Loss, s.GradNorm)), familyRun.Result.Steps.Select(s => (s.Loss, s.GradNorm)));
        AssertSameWeights(qwenRun.After, familyRun.After);
        // It trained: a weight moved (with LoRA: an adapter's B, which starts at zero).
        Assert.Contains(qwenRun.After, kv => qwenRun.Before.TryGetValue(kv.Key, out var b) ? !b.Same(kv.Value)
            : kv.Key.Contains(".lora_B.", StringComparison.Ordinal) && kv.Value.abs().max().item<float>() > 0);
        Assert.Equal(qwenRun.ConfigJson, familyRun.ConfigJson);                      // the contract's Config, as config.json
        Assert.Contains("\"model_type\": \"qwen2_5_vl\"", familyRun.ConfigJson);
    }

    [Fact]
    public void TAPO_steps_a_family_seen_only_through_the_contract_as_it_steps_Qwen()
    {
        (IReadOnlyList<TapoStepMetrics> Steps, Dictionary<string, Tensor> Before, Dictionary<string, Tensor> After, WrappedFamily Family) Run(bool wrapped)
        {
            var qwen = TapoTestWorld.Model(seed: 5);
            var family = new WrappedFamily(qwen);
            var before = Weights(qwen);
            var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 2, groups: 2, maxResponse: 4);
            o.Algorithm.UseReferenceKl = true;             // the reference policy through CreateFrozenCopy
            o.Algorithm.KlCoef = 0.5;
            o.Optimization.LearningRate = 1e-3;            // step 1 has learning rate 0; step 2 moves the weights visibly
            var samples = Enumerable.Range(0, 4).Select(i => TapoTestWorld.Sample(10 + i, "mixed")).ToList();
            using var trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(wrapped ? family : qwen, TapoTestWorld.Encoder(), samples, o,
                new ScriptedReward());
            var steps = new[] { trainer.Step(), trainer.Step() };
            return (steps, before, Weights(qwen), family);
        }

        var qwenRun = Run(wrapped: false);
        var familyRun = Run(wrapped: true);

        Assert.Equal(1, familyRun.Family.GenerationModels);                          // rollouts through CreateGenerationModel
        Assert.Equal(1, familyRun.Family.FrozenCopies);                              // the reference through CreateFrozenCopy
        Assert.True(familyRun.Family.Forwards > 0);                                  // log-probs through Forward
        Assert.Equal(qwenRun.Steps.Select(s => (s.PolicyLoss, s.GradNorm, s.Reward)), familyRun.Steps.Select(s => (s.PolicyLoss, s.GradNorm, s.Reward)));
        AssertSameWeights(qwenRun.After, familyRun.After);
        Assert.Contains(qwenRun.After, kv => !kv.Value.Same(qwenRun.Before[kv.Key]));   // it trained
    }

    [Fact]
    public void TAPO_log_probs_with_positions_from_the_model_equal_those_with_explicit_M_RoPE_positions()
    {
        var model = TapoTestWorld.Model();
        using var p = TapoTestWorld.Encoder().Encode(TapoTestWorld.Sample(4), "u");
        long[][] prompts = [p.PromptIds, p.PromptIds.Skip(3).ToArray()];                            // the second row is left-padded
        LogProbRow[] rows = [new(prompts[0], p.Anchor, p.Grid), new(prompts[1], p.Positive, p.Grid)];
        using var responses = tensor(new long[] { 13, 220, 151645, 13, 151645, 151643 }, [2, 3], ScalarType.Int64);
        using var responseMask = tensor(new long[] { 1, 1, 1, 1, 1, 0 }, [2, 3], ScalarType.Int64);   // the second is right-padded
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        var derived = TapoLogProbs.Compute(model, rows, responses, responseMask, 1.0, 151643);

        // What TapoLogProbs passed before: RopeIndex positions over left-padded prompt ‖ right-padded response.
        int length = prompts[0].Length;
        var ids = prompts.SelectMany(q => Enumerable.Repeat(151643L, length - q.Length).Concat(q)).ToArray();
        var mask = prompts.SelectMany(q => Enumerable.Repeat(0L, length - q.Length).Concat(Enumerable.Repeat(1L, q.Length))).ToArray();
        var fullIds = cat([tensor(ids, [2, length], ScalarType.Int64), responses], 1);
        var fullMask = cat([tensor(mask, [2, length], ScalarType.Int64), responseMask], 1);
        var grid = VisionGrid.ToTensor([p.Grid, p.Grid]);
        var (positions, _) = RopeIndex.GetRopeIndex(model.Config, fullIds, grid, fullMask);
        var logits = model.forward(inputIds: fullIds, positionIds: positions, attentionMask: fullMask, imageGridThw: grid,
            pixelValues: cat([p.Anchor, p.Positive], 0), logitsToKeep: 4).Logits.narrow(1, 0, 3).to_type(ScalarType.Float32);
        var expected = logits.gather(-1, responses.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);

        Assert.True(derived.Same(expected), $"max difference {(derived - expected).abs().max().ToDouble()}");
    }

    [Fact]
    public void SFT_logits_with_positions_from_the_model_equal_those_with_explicit_M_RoPE_positions()
    {
        var (all, vocabulary) = Examples(12, 4096);
        var pair = all.DistinctBy(e => e.Length).Take(2).ToList();                     // two lengths: the batch is right-padded
        Assert.Equal(2, pair.Count);
        var model = SftTestKit.NewModel(7, vocabulary.Config);
        using var batch = SftBatch.Collate(pair, new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), vocabulary.PadTokenId);
        Assert.Equal(0, batch.AttentionMask.min().item<long>());
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();

        var derived = ((IVisionLanguageModel)model).Forward(new VisionLanguageInputs(batch.InputIds, batch.AttentionMask,
            batch.PixelValues, batch.ImageGridThw)).Logits;
        var (positions, _) = RopeIndex.GetRopeIndex(vocabulary.Config, batch.InputIds, batch.ImageGridThw, batch.AttentionMask);
        var expected = model.forward(inputIds: batch.InputIds, positionIds: positions, attentionMask: batch.AttentionMask,
            pixelValues: batch.PixelValues, imageGridThw: batch.ImageGridThw).Logits;

        Assert.True(derived.Same(expected), $"max difference {(derived - expected).abs().max().ToDouble()}");
    }
}
