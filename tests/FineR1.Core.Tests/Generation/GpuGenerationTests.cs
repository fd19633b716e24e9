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
        // Another thread reseeding and drawing from the device's default generator meanwhile (weight initialisation,
        // other tests, another request) must not change what seed 7 draws.
        using var stop = new CancellationTokenSource();
        var noise = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested) { manual_seed(123); using var _ = randn([1000], device: CUDA); }
        });
        var b = Run(true, 7);
        stop.Cancel();
        noise.Wait();
        Assert.Equal(a.Sequences.Select(s => s.TokenIds), b.Sequences.Select(s => s.TokenIds));
        Assert.All(a.Sequences, s => Assert.Equal(12, s.TokenIds.Length));
        Assert.NotEqual(a.Sequences.Select(s => s.TokenIds), Run(true, 8).Sequences.Select(s => s.TokenIds));
    }

    [Fact]
    public void The_counter_based_sampler_draws_the_same_tokens_on_CUDA_as_on_the_CPU()
    {
        Gpu.RequireCuda();
        using var logits = randn(16, 5000, generator: new Generator(3));
        using var probs = logits.softmax(-1);
        using var onCpu = TokenSampler.CounterBased(42);
        using var onCuda = TokenSampler.CounterBased(42);
        for (int step = 0; step < 3; step++)
        {
            using var cpuIds = onCpu.Sample(probs);
            using var cudaProbs = probs.to(CUDA);
            using var cudaIds = onCuda.Sample(cudaProbs).cpu();
            Assert.Equal(cpuIds.data<long>().ToArray(), cudaIds.data<long>().ToArray());
        }
    }
}
