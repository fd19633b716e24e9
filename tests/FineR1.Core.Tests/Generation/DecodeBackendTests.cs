using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

/// <summary>Choosing the decode backend, and the fallback when CUDA graphs cannot be used.</summary>
public class DecodeBackendTests
{
    [Fact]
    public void Without_CUDA_graphs_are_unavailable_with_a_reason_and_forcing_them_throws_it()
    {
        if (cuda.is_available()) Assert.Skip("checks the fallback on a machine without CUDA");
        Assert.False(CudaGraphs.Available);
        Assert.Contains("CUDA is not available", CudaGraphs.UnavailableReason);
        Assert.Null(CudaGraphs.MemoryStats());

        var config = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a"));
        using var model = new Qwen2_5_VLForConditionalGeneration(config);
        using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([10, 11])], 0);
        var forced = new Qwen2_5_VLGenerationModel(model) { Backend = DecodeBackend.CudaGraph };
        var e = Assert.Throws<InvalidOperationException>(() => forced.Start(inputs, 4).Dispose());
        Assert.Contains("needs a CUDA device", e.Message);
    }

    [Fact]
    public void Auto_decodes_with_the_static_step_on_the_CPU_and_gives_the_reference_tokens()
    {
        var config = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a"));
        manual_seed(5);
        using var model = new Qwen2_5_VLForConditionalGeneration(config);
        model.eval();
        long[][] Run(DecodeBackend backend)
        {
            using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([10, 11, 12]), new GenerationPrompt([7])], 0);
            var result = SequenceGenerator.Generate(new Qwen2_5_VLGenerationModel(model) { Backend = backend }, inputs,
                new GenerationOptions { MaxNewTokens = 9, StopTokenIds = [], PadTokenId = 0 });
            return [.. result.Sequences.Select(s => s.TokenIds)];
        }
        Assert.Equal(Run(DecodeBackend.Reference), Run(DecodeBackend.Auto));
    }
}
