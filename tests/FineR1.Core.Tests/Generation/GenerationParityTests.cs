using FineR1.Core.Imaging;
using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Vision;
using FineR1.Core.Tests.Modeling.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

/// <summary>
/// Greedy KV-cached generation against HF transformers <c>generate</c> on the tiny Qwen2.5-VL fixtures: every folder
/// under <c>tests/Fixtures/qwen2_5_vl</c> with a model, plus the folders in <c>FINER1_PARITY_FIXTURES</c>.
/// </summary>
[Trait("Category", "Parity")]
public class GenerationParityTests
{
    public static TheoryData<string> FixtureFolders()
    {
        var data = new TheoryData<string>();
        var root = TestPaths.Fixture("qwen2_5_vl");
        var folders = Directory.Exists(root) ? Directory.GetDirectories(root).Order(StringComparer.Ordinal) : Enumerable.Empty<string>();
        foreach (var folder in folders.Concat(TestPaths.FromEnvironment("FINER1_PARITY_FIXTURES")))
            if (File.Exists(Path.Combine(folder, "model.safetensors")) && File.Exists(Path.Combine(folder, "expected.json")))
                data.Add(folder);
        return data;
    }

    [Theory, MemberData(nameof(FixtureFolders))]
    public void Greedy_generation_with_an_image_matches_HF(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        long[] expected = [.. json.RootElement.GetProperty("generated").EnumerateArray().Select(e => e.GetInt64())];
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = LoadModel(folder, config);
        var model = loaded.Model;
        using var tensors = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var ids = tensors.Read("input_ids");                                        // [1, L]
        long[] prompt = ids.data<long>().ToArray();

        // The prompt uses the first k images, k = its number of vision blocks; their pixel values in prompt order.
        int imageCount = prompt.Count(t => t == config.VisionStartTokenId);
        var imagesJson = json.RootElement.GetProperty("images");
        var images = new List<PromptImage>();
        for (int i = 0; i < imageCount; i++)
            images.Add(new PromptImage(tensors.Read($"image{i}_pixel_values"), Grid(imagesJson[i])));
        try
        {
            using var inputs = GenerationInputs.LeftPad([new GenerationPrompt(prompt, images)], padTokenId: 0);
            var result = SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(model, loaded.Visual), inputs, Options(folder, expected.Length));
            Assert.Equal(expected, result.Sequences[0].TokenIds);
        }
        finally
        {
            foreach (var image in images) image.PixelValues.Dispose();
        }
    }

    [Theory, MemberData(nameof(FixtureFolders))]
    public void Batched_left_padded_generation_matches_HF(string folder)
    {
        var batchFile = Path.Combine(folder, "batch_generate.json");
        if (!File.Exists(batchFile)) Assert.Skip($"{folder} has no batch_generate.json.");
        using var json = JsonDocument.Parse(File.ReadAllText(batchFile));
        using var expectedJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var root = json.RootElement;
        Assert.Equal("left", root.GetProperty("padding_side").GetString());
        long[][] prompts = [.. root.GetProperty("prompts").EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        long[][] expected = [.. root.GetProperty("generated").EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        long pad = root.GetProperty("pad_token_id").GetInt64();

        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = LoadModel(folder, config);
        var model = loaded.Model;
        using var tensors = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        // Each row holds its own images (several, one or none; see ParityFixture.ImagesOfRow).
        var images = new List<Tensor>();
        var batch = prompts.Select((p, row) => new GenerationPrompt(p,
            [.. ParityFixture.ImagesOfRow(config, expectedJson.RootElement, root, p, row).Select(i =>
            {
                var pixels = tensors.Read($"image{i}_pixel_values");
                images.Add(pixels);
                return new PromptImage(pixels, Grid(expectedJson.RootElement.GetProperty("images")[i]));
            })])).ToList();
        using var inputs = GenerationInputs.LeftPad(batch, pad);
        var result = SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(model, loaded.Visual), inputs,
            Options(folder, expected[0].Length) with { PadTokenId = pad });
        for (int row = 0; row < expected.Length; row++)
            Assert.Equal(expected[row], result.Sequences[row].TokenIds);
        foreach (var pixels in images) pixels.Dispose();
    }

    [Theory, MemberData(nameof(FixtureFolders))]
    public void Cached_decoding_gives_the_logits_of_a_full_forward_at_every_step(string folder)
    {
        // The HF token fixtures repeat one token, which a wrong decode position can still produce; this compares every
        // step's logits with an uncached forward over prompt + generated tokens (left padding and an image included).
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = LoadModel(folder, config);
        var model = loaded.Model;
        using var tensors = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var ids = tensors.Read("input_ids");
        long[] prompt = ids.data<long>().ToArray();
        int imageCount = prompt.Count(t => t == config.VisionStartTokenId);
        var images = Enumerable.Range(0, imageCount)
            .Select(i => new PromptImage(tensors.Read($"image{i}_pixel_values"), Grid(json.RootElement.GetProperty("images")[i]))).ToList();
        long[] text = [.. Enumerable.Range(0, 5).Select(i => (long)(40 + 7 * i))];
        using var inputs = GenerationInputs.LeftPad([new GenerationPrompt(prompt, images), new GenerationPrompt(text)], padTokenId: 0);
        var recorder = new RecordingModel(new Qwen2_5_VLGenerationModel(model, loaded.Visual));
        const int steps = 6;
        var result = SequenceGenerator.Generate(recorder, inputs, new GenerationOptions { MaxNewTokens = steps, StopTokenIds = [], PadTokenId = 0 });
        Assert.Equal(steps, recorder.Logits.Count);

        // Uncached: prompt + the first steps−1 generated tokens, mask extended with ones; positions from get_rope_index.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (generated, _) = result.ToTensors(0);
        var fullIds = cat([inputs.InputIds, generated.narrow(1, 0, steps - 1)], 1);
        var fullMask = cat([inputs.AttentionMask, ones_like(generated.narrow(1, 0, steps - 1))], 1);
        var imageEmbeds = loaded.Visual.forward(inputs.PixelValues!, inputs.ImageGridThw!);
        var logits = model.forward(inputIds: fullIds, attentionMask: fullMask, imageGridThw: inputs.ImageGridThw,
            imageEmbeds: imageEmbeds).Logits;                                            // [B, T + steps − 1, vocab]
        double worst = 0;
        for (int s = 0; s < steps; s++)
        {
            var reference = logits.select(1, inputs.PromptLength - 1 + s);
            double diff = (reference - recorder.Logits[s]).abs().max().item<float>();
            Assert.True(diff < 1e-4, $"step {s}: max |cached − uncached| = {diff:E2}");
            worst = Math.Max(worst, diff);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"max |cached − uncached| logits over {steps} steps: {worst:E2}");
        foreach (var image in images) image.PixelValues.Dispose();
    }

    [Theory, MemberData(nameof(FixtureFolders))]
    public void Decoding_the_real_model_keeps_live_native_tensors_constant(string folder)
    {
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = LoadModel(folder, config);
        using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([10, 11, 12]), new GenerationPrompt([40])], padTokenId: 0);
        var options = new GenerationOptions { MaxNewTokens = 40, DoSample = true, TopP = 0.9, Seed = 3, StopTokenIds = [], PadTokenId = 0 };
        var live = new Dictionary<int, long>();
        // A first call allocates the decode engine's buffers for this batch bucket, which later calls reuse: count after it.
        SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(loaded.Model, loaded.Visual), inputs, options with { MaxNewTokens = 2 });
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(loaded.Model, loaded.Visual), inputs, options,
            t => { if (t.Row == 0) live[t.Step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount; });
        Assert.Equal(live[5], live[35]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Images_without_a_vision_tower_are_rejected()
    {
        var folder = TestPaths.Fixture("qwen2_5_vl", "tiny-a");
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = LoadModel(folder, config);
        using var pixels = zeros(48, 1176);
        using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([10, 498, 500, 499], [new PromptImage(pixels, new VisionGrid(1, 6, 8))])], 0);
        var e = Assert.Throws<ArgumentException>(() =>
            SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(loaded.Model, (Qwen2_5_VisionTransformerPretrainedModel?)null), inputs,
                new GenerationOptions { MaxNewTokens = 2, PadTokenId = 0 }));
        Assert.Contains("vision tower", e.Message);
    }

    /// <summary>Keeps a CPU copy of every logits tensor the loop receives.</summary>
    internal sealed class RecordingModel(IGenerationModel inner) : IGenerationModel
    {
        public List<Tensor> Logits { get; } = [];
        public Device Device => inner.Device;
        public long VocabSize => inner.VocabSize;
        public IGenerationSession Start(GenerationInputs inputs, int maxNewTokens) => new Session(this, inner.Start(inputs, maxNewTokens));

        private sealed class Session(RecordingModel owner, IGenerationSession inner) : IGenerationSession
        {
            public Tensor Prefill() => Keep(inner.Prefill());
            public Tensor Step(Tensor tokens) => Keep(inner.Step(tokens));
            public void Dispose() => inner.Dispose();

            private Tensor Keep(Tensor logits)
            {
                owner.Logits.Add(logits.to(ScalarType.Float32, CPU, copy: true).DetachFromDisposeScope());
                return logits;
            }
        }
    }

    internal static VisionGrid Grid(JsonElement image) =>
        image.GetProperty("grid_thw").EnumerateArray().Select(e => e.GetInt32()).ToArray() is [var t, var h, var w] ? new VisionGrid(t, h, w) : throw new FormatException("grid_thw needs 3 numbers");

    /// <summary>Greedy with the stop ids of the fixture's generation_config (HF generate used them too).</summary>
    private static GenerationOptions Options(string folder, int maxNewTokens)
    {
        var stops = new List<long>();
        var file = Path.Combine(folder, "generation_config.json");
        if (File.Exists(file))
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            if (json.RootElement.TryGetProperty("eos_token_id", out var eos))
            {
                if (eos.ValueKind == JsonValueKind.Array) stops.AddRange(eos.EnumerateArray().Select(e => e.GetInt64()));
                else if (eos.ValueKind == JsonValueKind.Number) stops.Add(eos.GetInt64());
            }
        }
        return new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = stops, PadTokenId = 0 };
    }

    internal sealed record LoadedModel(Qwen2_5_VLForConditionalGeneration Model, Qwen2_5_VisionTransformerPretrainedModel Visual) : IDisposable
    {
        public void Dispose() => Model.Dispose();
    }

    /// <summary>Builds the model and loads the fixture's checkpoint (legacy 4.x names, tied lm_head absent) exactly:
    /// any tensor left over on either side fails.</summary>
    internal static LoadedModel LoadModel(string folder, Qwen2_5_VLConfig config)
    {
        var model = new Qwen2_5_VLForConditionalGeneration(config);
        var report = CheckpointLoader.Load(model, folder);
        Assert.True(report.IsExact, $"{folder}: missing {string.Join(", ", report.Missing)}; unexpected {string.Join(", ", report.Unexpected)}");
        model.eval();
        return new LoadedModel(model, model.model.visual);
    }
}
