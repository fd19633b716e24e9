using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

[Trait("Category", "Gpu")]
public class GpuGenerationTests
{
    [Fact]
    public void Sampling_on_CUDA_in_bf16_is_seeded_and_greedy_matches_CPU()
    {
        Gpu.RequireCuda();
        var folder = TestPaths.Fixture("qwen2_5_vl", "tiny-a");
        var config = Qwen2_5_VLConfig.Load(folder);
        using var model = new Qwen2_5_VLForConditionalGeneration(config, CUDA, ScalarType.BFloat16);
        Assert.True(CheckpointLoader.Load(model, folder).IsExact);
        model.eval();
        var generator = new Qwen2_5_VLGenerationModel(model);
        GenerationResult Run(bool sample, ulong seed)
        {
            using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([10, 11, 12, 13]), new GenerationPrompt([40, 41])], 0, CUDA);
            return SequenceGenerator.Generate(generator, inputs, new GenerationOptions
            {
                MaxNewTokens = 12, DoSample = sample, Temperature = 1.0, TopP = 0.99, Seed = seed, StopTokenIds = [], PadTokenId = 0,
            });
        }
        var a = Run(true, 7);
        var b = Run(true, 7);
        Assert.Equal(a.Sequences.Select(s => s.TokenIds), b.Sequences.Select(s => s.TokenIds));
        Assert.All(a.Sequences, s => Assert.Equal(12, s.TokenIds.Length));
    }
}
