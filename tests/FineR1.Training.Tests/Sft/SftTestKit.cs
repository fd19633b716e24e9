using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Data;
using FineR1.Experiments.Synthetic;
using TorchSharp;

namespace FineR1.Training.Tests.Sft;

/// <summary>The real Qwen tokenizer and a tiny Qwen2.5-VL with the real vocabulary (151,936) but 32-wide layers.</summary>
internal static class SftTestKit
{
    private static readonly Lazy<QwenTokenizer> LazyTokenizer = new(() =>
        QwenTokenizer.Load(TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz"), QwenTokenizerOptions.Qwen2_5_VL));

    public static QwenTokenizer Tokenizer => LazyTokenizer.Value;

    /// <summary>Real token ids and vocabulary, tiny widths: text 32 (2 heads of 16, M-RoPE [2, 3, 3]), vision 32, 2 layers each.</summary>
    public static Qwen2_5_VLConfig TinyConfig { get; } = new()
    {
        Text = new Qwen2_5_VLTextConfig
        {
            VocabSize = 151936, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, MropeSection = [2, 3, 3], MaxPositionEmbeddings = 4096, TieWordEmbeddings = true,
        },
        Vision = new Qwen2_5_VLVisionConfig
        {
            Depth = 2, HiddenSize = 32, IntermediateSize = 48, NumHeads = 2, WindowSize = 56, FullAttentionBlockIndexes = [1],
            OutHiddenSize = 32,
        },
    };

    /// <summary>A freshly initialised tiny model (float32, CPU); the same seed gives the same weights.</summary>
    public static Qwen2_5_VLForConditionalGeneration NewModel(int seed = 7, Qwen2_5_VLConfig? config = null)
    {
        torch.manual_seed(seed);
        var model = new Qwen2_5_VLForConditionalGeneration(config ?? TinyConfig);
        // HF initialises embeddings with std 0.02 (TorchSharp: 1.0, which makes the tied head's logits huge).
        using (torch.no_grad()) model.model.language_model.embed_tokens.weight!.normal_(0, 0.02);
        return model;
    }

    /// <summary>Copies of all parameters, by name.</summary>
    public static Dictionary<string, torch.Tensor> Snapshot(Qwen2_5_VLForConditionalGeneration model) =>
        model.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
}

/// <summary>One quick FGVR-Synth world and its Stage-1 CoT SFT records, generated once per test class.</summary>
public sealed class SftSynthFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public FgvrSynthWorld World { get; }

    public IReadOnlyList<SftRecord> Records { get; }

    public SftSynthFixture()
    {
        World = FgvrSynth.Generate(FgvrSynthOptions.Quick, _dir.Path);
        Records = ShareGptDataset.Load(World.Files.CotSftJson);
    }

    public void Dispose() => _dir.Dispose();
}

internal static class TensorSameExtensions
{
    /// <summary>Bit-identical (same shape, dtype and values).</summary>
    public static bool Same(this TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

/// <summary>
/// Renumbers the token ids used by a set of examples to 0..n-1 so a tiny model can train on real Qwen tokenization with
/// a small vocabulary (the logits of the real 151,936-token vocabulary dominate CPU time otherwise). The vision
/// special tokens and the pad token are mapped too and written into the config.
/// </summary>
internal sealed class CompactVocabulary
{
    private readonly Dictionary<int, int> _map = [];

    public Qwen2_5_VLConfig Config { get; }
    public int PadTokenId { get; }

    public CompactVocabulary(IEnumerable<FineR1.Training.Sft.SftExample> examples)
    {
        var t = SftTestKit.Tokenizer;
        foreach (var id in new[] { t.EndOfTextId, t.VisionStartId, t.VisionEndId, t.ImagePadId, t.VideoPadId }.Concat(examples.SelectMany(e => e.InputIds)))
            _map.TryAdd(id, _map.Count);
        PadTokenId = _map[t.EndOfTextId];
        Config = SftTestKit.TinyConfig with
        {
            Text = SftTestKit.TinyConfig.Text with { VocabSize = (_map.Count + 63) / 64 * 64 },
            ImageTokenId = _map[t.ImagePadId], VideoTokenId = _map[t.VideoPadId],
            VisionStartTokenId = _map[t.VisionStartId], VisionEndTokenId = _map[t.VisionEndId],
        };
    }

    public IReadOnlyList<FineR1.Training.Sft.SftExample> Apply(IEnumerable<FineR1.Training.Sft.SftExample> examples) =>
        examples.Select(e => e with
        {
            InputIds = e.InputIds.Select(i => _map[i]).ToArray(),
            Labels = e.Labels.Select(l => l < 0 ? l : _map[(int)l]).ToArray(),
        }).ToList();
}

/// <summary>
/// Tests that seed torch's global generator or measure process memory run alone: another test drawing random numbers
/// between a seed and a model's initialisation, or allocating meanwhile, would change what they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    public const string Name = "Serial torch (global RNG, RSS)";
}
