using FineR1.Core.Processing;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Rewards;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.TapoTrainer;

/// <summary>
/// A tiny Qwen2.5-VL with the real vocabulary (so the real tokenizer, chat template and reward apply) but the hidden
/// sizes of the tiny-a fixture, random weights; 56×56 images (4 image tokens).
/// </summary>
internal static class TapoTestWorld
{
    private static readonly Lazy<QwenTokenizer> LazyTokenizer =
        new(() => QwenTokenizer.Load(TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz"), QwenTokenizerOptions.Qwen2_5_VL));

    public static QwenTokenizer Tokenizer => LazyTokenizer.Value;

    public static Qwen2_5_VLConfig Config()
    {
        var json = File.ReadAllText(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"))
            .Replace("\"vocab_size\": 512", "\"vocab_size\": 151936")
            .Replace("\"image_token_id\": 500", "\"image_token_id\": 151655")
            .Replace("\"video_token_id\": 501", "\"video_token_id\": 151656")
            .Replace("\"vision_start_token_id\": 498", "\"vision_start_token_id\": 151652")
            .Replace("\"vision_end_token_id\": 499", "\"vision_end_token_id\": 151653");
        return Qwen2_5_VLConfig.Parse(json, "tiny-a (real vocab)");
    }

    public static Qwen2_5_VLForConditionalGeneration Model(int seed = 0)
    {
        manual_seed(seed);
        var model = new Qwen2_5_VLForConditionalGeneration(Config());
        // HF's initializer_range 0.02 for the decoder: TorchSharp's default N(0, 1) embeddings make the tied head
        // near-deterministic (log-prob 0 for every sampled token). The vision tower keeps its larger default init so the
        // image visibly moves the log-probs.
        using var noGrad = no_grad();
        foreach (var (name, p) in model.UniqueParameters())
            if (name.StartsWith("model.language_model.", StringComparison.Ordinal) && p.dim() == 2) p.normal_(0, 0.02);
        return model;
    }

    public static Qwen2VLImageProcessor Processor => new(new Qwen2VLImageProcessorOptions { MinPixels = 56 * 56, MaxPixels = 56 * 56 });

    public static TapoPromptEncoder Encoder() => new(new Qwen2_5_VLProcessor(Tokenizer, Processor));

    public static RgbImage Image(int seed, int size = 56)
    {
        var rng = new Random(seed);
        var px = new byte[size * size * 3];
        rng.NextBytes(px);
        return new RgbImage(size, size, px);
    }

    public static TapoSample Sample(int seed, string answer = "Varen Tanager") =>
        TapoSample.Create("<image> Based on this image, what species of bird is shown?", answer, Image(seed), Image(seed + 1000), Image(seed + 2000), $"s{seed}");

    /// <summary>Small options: n rollouts per image, short responses, one prompt per optimizer step.</summary>
    public static TapoOptions Options(int n = 2, int promptsPerDraw = 2, int groups = 2, int maxResponse = 5)
    {
        var o = TapoOptions.FineR1_3B();
        o.Rollout.N = n;
        o.Rollout.PromptsPerDraw = promptsPerDraw;
        o.Rollout.RolloutBatchSize = groups;
        o.Rollout.MaxResponseLength = maxResponse;
        o.Optimization.GlobalBatchSize = 1;
        o.Optimization.MicroBatchSize = 2;
        o.Optimization.LogProbMicroBatchSize = 4;
        o.Optimization.Epochs = 1;
        o.Algorithm.MaxDynamicSamplingTries = 20;
        return o;
    }
}

/// <summary>Accuracy by ground truth: "always" → 1, "never" → 0, "mixed" → alternating 1, 0, 1, … (format 1 everywhere).</summary>
internal sealed class ScriptedReward : IRewardFunction
{
    private int _mixed;

    public RewardScore Score(string response, string groundTruth)
    {
        double accuracy = groundTruth switch
        {
            "always" => 1,
            "never" => 0,
            _ => _mixed++ % 2 == 0 ? 1 : 0,
        };
        return new RewardScore(0.9 * accuracy + 0.1, 1, accuracy);
    }
}
