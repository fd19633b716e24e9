using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

/// <summary>
/// The static decode step against the reference decode path (the model's own forward, dynamic shapes) on every parity
/// fixture: same logits at every step (float32, CPU) and the same greedy tokens, with an image row and a left-padded
/// text row in one batch.
/// </summary>
[Trait("Category", "Parity")]
public class StaticDecodeTests
{
    public static TheoryData<string> FixtureFolders() => GenerationParityTests.FixtureFolders();

    [Theory, MemberData(nameof(FixtureFolders))]
    public void Static_step_gives_the_reference_logits_and_greedy_tokens(string folder)
    {
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = GenerationParityTests.LoadModel(folder, config);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        using var tensors = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var ids = tensors.Read("input_ids");
        long[] prompt = ids.data<long>().ToArray();
        int imageCount = prompt.Count(t => t == config.VisionStartTokenId);
        var images = Enumerable.Range(0, imageCount)
            .Select(i => new PromptImage(tensors.Read($"image{i}_pixel_values"), GenerationParityTests.Grid(json.RootElement.GetProperty("images")[i]))).ToList();
        const int steps = 12;
        var options = new GenerationOptions { MaxNewTokens = steps, StopTokenIds = [], PadTokenId = 0 };
        (GenerationResult Result, List<Tensor> Logits) Run(DecodeBackend backend)
        {
            using var inputs = GenerationInputs.LeftPad([new GenerationPrompt(prompt, images), new GenerationPrompt([40, 47, 54])], padTokenId: 0);
            var recorder = new GenerationParityTests.RecordingModel(new Qwen2_5_VLGenerationModel(loaded.Model, loaded.Visual) { Backend = backend });
            return (SequenceGenerator.Generate(recorder, inputs, options), recorder.Logits);
        }
        try
        {
            var (reference, referenceLogits) = Run(DecodeBackend.Reference);
            var (lean, leanLogits) = Run(DecodeBackend.Static);
            Assert.Equal(steps, leanLogits.Count);
            for (int s = 0; s < steps; s++)
            {
                double diff = (referenceLogits[s] - leanLogits[s]).abs().max().item<float>();
                Assert.True(diff < 1e-5, $"step {s}: max |static − reference| logits = {diff:E2}");
            }
            for (int row = 0; row < 2; row++) Assert.Equal(reference.Sequences[row].TokenIds, lean.Sequences[row].TokenIds);
        }
        finally
        {
            foreach (var image in images) image.PixelValues.Dispose();
        }
    }

    [Fact]
    public void Static_step_reads_nothing_back_to_the_host_and_keeps_its_shapes()
    {
        // On the meta device tensors have shapes but no data: any host read (item, data, cpu, ToArray) or any
        // operation whose output size depends on data throws. A step that passes here can be captured as a CUDA graph.
        // libtorch's CPU attention kernel has no meta implementation, so the attention seam gets the same function
        // written out (its CUDA kernel is checked by capturing it in CudaGraphDecodeTests).
        var config = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a"));
        var meta = new Device(DeviceType.META);
        using var model = new Qwen2_5_VLForConditionalGeneration(config, meta);
        using var step = new StaticDecodeStep(model) { Attention = WrittenOutAttention };
        using var buffers = step.CreateBuffers(rows: 3, capacity: 256);
        long[]? firstShape = null;
        for (int i = 0; i < 3; i++)
        {
            buffers.Position.fill_(40 + i);
            using var logits = step.Forward(buffers);
            Assert.Equal(DeviceType.META, logits.device_type);
            firstShape ??= logits.shape;
            Assert.Equal(firstShape, logits.shape);
        }
        Assert.Equal([3L, config.Text.VocabSize], firstShape);
    }

    [Fact]
    public void A_host_read_inside_the_step_is_caught_by_the_meta_check()
    {
        // The check itself can fail: a step that reads the position back to the host throws on meta.
        var config = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a"));
        using var model = new Qwen2_5_VLForConditionalGeneration(config, new Device(DeviceType.META));
        using var step = new StaticDecodeStep(model);
        using var buffers = step.CreateBuffers(rows: 1, capacity: 256);
        step.Attention = (q, k, v, mask) =>
        {
            long slot = buffers.Position.item<long>();            // a host read
            return WrittenOutAttention(q, k.narrow(2, 0, slot + 1), v.narrow(2, 0, slot + 1), mask.narrow(-1, 0, slot + 1));
        };
        var e = Assert.ThrowsAny<Exception>(() => step.Forward(buffers).Dispose());
        Assert.Contains("meta tensor", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>softmax(q·kᵀ/√d + mask)·v, what scaled_dot_product_attention computes, from ops that run on meta.</summary>
    private static Tensor WrittenOutAttention(Tensor q, Tensor k, Tensor v, Tensor mask) =>
        (q.matmul(k.transpose(-2, -1)) / Math.Sqrt(q.shape[^1]) + mask).softmax(-1).matmul(v);

    [Fact]
    public void Sessions_of_one_bucket_reuse_its_buffers_and_stay_exact()
    {
        // Two generations in a row share the bucket (cache left over from the first is masked out): the second equals a
        // fresh reference run.
        var folder = TestPaths.Fixture("qwen2_5_vl", "tiny-a");
        var config = Qwen2_5_VLConfig.Load(folder);
        using var loaded = GenerationParityTests.LoadModel(folder, config);
        var options = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [], PadTokenId = 0 };
        long[][] Run(DecodeBackend backend, long[][] prompts)
        {
            using var inputs = GenerationInputs.LeftPad(prompts.Select(p => new GenerationPrompt(p)).ToList(), 0);
            var result = SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(loaded.Model) { Backend = backend }, inputs, options);
            return [.. result.Sequences.Select(s => s.TokenIds)];
        }
        Run(DecodeBackend.Static, [[10, 11, 12, 13, 14, 15], [20, 21]]);
        long[][] second = [[33, 34], [35, 36, 37, 38, 39]];
        Assert.Equal(Run(DecodeBackend.Reference, second), Run(DecodeBackend.Static, second));

        // Releasing frees the state; the next call builds it again and still matches.
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(Qwen2_5_VLGenerationModel.ReleaseDecodeState(loaded.Model));
        Assert.True(DisposeScopeManager.Statistics.ThreadTotalLiveCount < live);
        Assert.False(Qwen2_5_VLGenerationModel.ReleaseDecodeState(loaded.Model));
        Assert.Equal(Run(DecodeBackend.Reference, second), Run(DecodeBackend.Static, second));
    }
}
