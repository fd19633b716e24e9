using System.Security.Cryptography;
using System.Text.Json;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Pipeline;
using FineR1.Core.Processing;
using FineR1.Experiments.Pretraining;
using FineR1.Training.Data;
using FineR1.Training.Sft;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tests.Sft;
using TorchSharp;

namespace FineR1.Training.Tests.Processing;

/// <summary>
/// The four prompt paths built over <see cref="Qwen2_5_VLProcessor"/> (inference, SFT, TAPO, the demo's pretrainer)
/// give byte-identical ids, labels, grids and pixels to the separate encoders they replaced: tests/Fixtures/processor/
/// before.json holds what the old code produced on these inputs (real images, the real tokenizer).
/// </summary>
[Trait("Category", "Golden")]
public sealed class ProcessorPathsTests
{
    private static readonly Lazy<JsonElement> Before = new(() =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("processor", "before.json"))).RootElement);

    private static string Image(string name) => TestPaths.Fixture("imaging", name);

    private static string Hash(torch.Tensor t)
    {
        using var contiguous = t.contiguous();
        return Convert.ToHexString(SHA256.HashData(contiguous.bytes.ToArray())).ToLowerInvariant();
    }

    private static long[] Longs(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static long[] Flat(IEnumerable<VisionGrid> grids) => grids.SelectMany(g => new long[] { g.T, g.H, g.W }).ToArray();

    [Fact]
    public void Inference_prompts_are_unchanged()
    {
        var builder = new VisionPromptBuilder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Qwen2VLImageProcessorOptions.FineR1Evaluation));
        foreach (var expected in Before.Value.GetProperty("inference").EnumerateArray())
        {
            var system = expected.GetProperty("system").ValueKind == JsonValueKind.Null ? null : expected.GetProperty("system").GetString();
            using var prompt = builder.Build(Image(expected.GetProperty("image").GetString()!), expected.GetProperty("text").GetString()!, system);
            Assert.Equal(Longs(expected.GetProperty("ids")), prompt.Prompt.TokenIds);
            Assert.Equal(Longs(expected.GetProperty("grid")), Flat([prompt.Prompt.Images[0].Grid]));
            Assert.Equal(expected.GetProperty("rows").GetInt64(), prompt.Images.PixelValues.shape[0]);
            Assert.Equal(expected.GetProperty("pixels").GetString(), Hash(prompt.Prompt.Images[0].PixelValues));
        }
    }

    [Fact]
    public void SFT_examples_and_batches_are_unchanged()
    {
        var expected = Before.Value.GetProperty("sft");
        var processor = new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, preScaling: ImagePreScaling.Sft);
        var record = new SftRecord(0, [new SftTurn("system", "Be brief."), new SftTurn("user", "<image>Describe. <|im_end|>"),
            new SftTurn("assistant", "A bird."), new SftTurn("user", "And <image> this one?"), new SftTurn("assistant", "A car <|im_start|>.")],
            [Image("rgb_64x48.jpg"), Image("exif6_40x24.jpg")]);
        var example = new SftEncoder(processor, 4096).Encode(record)!;
        Assert.Equal(Longs(expected.GetProperty("ids")), example.InputIds.Select(i => (long)i));
        Assert.Equal(Longs(expected.GetProperty("labels")), example.Labels);
        Assert.Equal(Longs(expected.GetProperty("grids")), Flat(example.Grids));
        using var batch = SftBatch.Collate([example], processor, SftTestKit.Tokenizer.EndOfTextId);
        Assert.Equal(expected.GetProperty("pixels").GetString(), Hash(batch.PixelValues!));
        // Positions are the model's now (derived in its forward from ids, grids and mask, as here); still the old batch's.
        var (positions, _) = RopeIndex.GetRopeIndex(SftTestKit.TinyConfig, batch.InputIds, batch.ImageGridThw, batch.AttentionMask);
        Assert.Equal(expected.GetProperty("positions").GetString(), Hash(positions));
    }

    [Fact]
    public void TAPO_prompts_are_unchanged()
    {
        var expected = Before.Value.GetProperty("tapo");
        var sample = TapoSample.Create("<image> What model of car is shown? <|im_end|>", "A", ImageDecoder.Load(Image("rgb_64x48.jpg")),
            ImageDecoder.Load(Image("src_61x47.png")), ImageDecoder.Load(Image("palette_32x24.png")), "s0");
        using var prompt = new TapoPromptEncoder(SftTestKit.Tokenizer).Encode(sample, "g");
        Assert.Equal(Longs(expected.GetProperty("ids")), prompt.PromptIds);
        Assert.Equal(Longs(expected.GetProperty("grid")), Flat([prompt.Grid]));
        Assert.Equal(expected.GetProperty("anchor").GetString(), Hash(prompt.Anchor));
        Assert.Equal(expected.GetProperty("positive").GetString(), Hash(prompt.Positive));
        Assert.Equal(expected.GetProperty("negative").GetString(), Hash(prompt.Negative));
    }

    [Fact]
    public void Demo_language_model_examples_are_unchanged()
    {
        var expected = Before.Value.GetProperty("lm");
        var lm = new LmExampleEncoder(SftTestKit.Tokenizer, 8, 8);
        void Same(string key, LmExample example)
        {
            Assert.Equal(Longs(expected.GetProperty(key).GetProperty("ids")), example.InputIds.Select(i => (long)i));
            Assert.Equal(Longs(expected.GetProperty(key).GetProperty("labels")), example.Labels);
        }
        Same("caption", lm.Caption(Image("rgb_64x48.jpg"), "A small brown bird."));
        Same("chat", lm.Chat("You know birds.", Image("rgb_64x48.jpg"), "<image> Which species? <|endoftext|>", "Sparrow."));
        Same("text", lm.Text("Sparrows are small. <|im_end|>"));
        Same("noImage", lm.Chat(null, null, "Hello", "Hi."));
        Assert.Equal(Longs(expected.GetProperty("prompt")), lm.Prompt(null, true, "Which species is this?").Select(i => (long)i));
    }
}
