using FineR1.Core.Processing;
using FineR1.Core.Modeling;
using FineR1.Training.Distributed;
using FineR1.Training.Sft;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Distributed;

/// <summary>The SFT trainer on 1, 2 and 4 in-process ranks against one process with the same global batch.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class SftDataParallelTests(SftSynthFixture data, ITestOutputHelper output) : IClassFixture<SftSynthFixture>
{
    private static readonly FineR1.Core.Imaging.Qwen2VLImageProcessor Processor = new(new() { MaxPixels = 768 * 768, MinPixels = 32 * 32 });

    private static SftOptions Options(string folder, int accumulation) => new()
    {
        Checkpointing = { OutputDir = folder, SaveEverySteps = 0 },
        MaxLength = 160, MicroBatchSize = 1, GradientAccumulationSteps = accumulation, Epochs = 1,
        LearningRate = 2e-3, WarmupSteps = 0,
        AdamEpsilon = 1e-5,   // see DistributedTestKit.AdamW: keeps the key biases' zero-gradient noise from dominating
    };

    [Fact]
    public void Micro_batches_are_dealt_round_robin_and_cover_the_step()
    {
        var step = Enumerable.Range(0, 10).ToArray();
        var rank0 = DataParallelSharding.MicroBatchesOfRank(step, 2, 0, 2);
        var rank1 = DataParallelSharding.MicroBatchesOfRank(step, 2, 1, 2);
        Assert.Equal([[0, 1], [4, 5], [8, 9]], rank0);
        Assert.Equal([[2, 3], [6, 7]], rank1);
        Assert.Equal(step, rank0.Concat(rank1).SelectMany(m => m).Order());
        Assert.Equal(0..3, DataParallelSharding.BlockOfRank(5, 0, 2));
        Assert.Equal(3..5, DataParallelSharding.BlockOfRank(5, 1, 2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Data_parallel_steps_equal_the_single_process_steps_with_the_same_global_batch(int world)
    {
        var vocabulary = new CompactVocabulary(new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 160).EncodeAll(data.Records.Take(8).ToList()));
        var examples = vocabulary.Apply(new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 160).EncodeAll(data.Records.Take(8).ToList()));
        Dictionary<string, Tensor> Weights(Qwen2_5_VLForConditionalGeneration m) =>
            m.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());

        // One process, global batch 4 (micro 1 × accumulation 4): 2 steps over the 8 examples.
        using var singleDir = new TempDir();
        using var single = SftTestKit.NewModel(7, vocabulary.Config);
        var reference = new SftTrainer(single, SftTestKit.Tokenizer, Options(singleDir.Path, 4)) { PadTokenId = vocabulary.PadTokenId }.Train(examples);

        // W ranks, micro 1 × accumulation 4/W × W = the same global batch.
        using var dir = new TempDir();
        var models = Enumerable.Range(0, world).Select(r => SftTestKit.NewModel(7 + r, vocabulary.Config)).ToArray();  // rank 0's weights are broadcast
        var results = ThreadedProcessGroup.Run(world, comm =>
        {
            var trainer = new SftTrainer(models[comm.Rank], SftTestKit.Tokenizer, Options(dir.Path, 4 / world))
            {
                PadTokenId = vocabulary.PadTokenId,
                GradientSynchronizer = new AllReduceGradientSynchronizer(comm),
            };
            return trainer.Train(examples);
        }, TimeSpan.FromSeconds(120));

        Assert.All(results, r => Assert.Equal(reference.TotalSteps, r.TotalSteps));
        for (int s = 0; s < reference.Steps.Count; s++)
        {
            Assert.Equal(reference.Steps[s].Loss, results[0].Steps[s].Loss, 1e-6);
            Assert.Equal(reference.Steps[s].Tokens, results[0].Steps[s].Tokens);
        }
        var expected = Weights(single);
        var ranks = models.Select(Weights).ToArray();
        foreach (var r in ranks) Assert.Equal(0.0, DistributedTestKit.MaxDifference(ranks[0], r));   // replicas identical
        double difference = DistributedTestKit.MaxDifference(expected, ranks[0]);
        output.WriteLine($"SFT world {world}: max |Δw| = {difference:E2}, losses {string.Join(", ", results[0].Steps.Select(x => x.Loss.ToString("F6")))}");
        Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
        Assert.True(File.Exists(Path.Combine(dir.Path, "checkpoint-2", "model.safetensors")));   // rank 0 wrote the final checkpoint
        foreach (var m in models) m.Dispose();
    }
}
