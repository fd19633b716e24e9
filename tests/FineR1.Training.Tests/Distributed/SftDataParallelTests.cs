using FineR1.Core.Processing;
using FineR1.Core.Modeling;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Sft;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Distributed;

/// <summary>
/// The SFT trainer on 1, 2 and 4 in-process ranks, with replicated optimizers or ZeRO-2, against one process with the
/// same global batch; ZeRO-2 checkpoints resumed on the same and on another world size.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class SftDataParallelTests(SftSynthFixture data, ITestOutputHelper output) : IClassFixture<SftSynthFixture>
{
    private static readonly FineR1.Core.Imaging.Qwen2VLImageProcessor Processor = new(new() { MaxPixels = 768 * 768, MinPixels = 32 * 32 });

    private static SftOptions Options(string folder, int accumulation, ZeroStage stage = ZeroStage.None, int epochs = 1) => new()
    {
        Checkpointing = { OutputDir = folder, SaveEverySteps = 0 },
        MaxLength = 160, MicroBatchSize = 1, GradientAccumulationSteps = accumulation, Epochs = epochs,
        LearningRate = 2e-3, WarmupSteps = 0,
        AdamEpsilon = 1e-5,   // see DistributedTestKit.AdamW: keeps the key biases' zero-gradient noise from dominating
        DataParallel = { ZeroStage = stage },
    };

    private (IReadOnlyList<SftExample> Examples, CompactVocabulary Vocabulary) Examples()
    {
        var vocabulary = new CompactVocabulary(new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 160).EncodeAll(data.Records.Take(8).ToList()));
        return (vocabulary.Apply(new SftEncoder(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), 160).EncodeAll(data.Records.Take(8).ToList())), vocabulary);
    }

    private static Dictionary<string, Tensor> Weights(Qwen2_5_VLForConditionalGeneration m) =>
        m.UniqueParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().clone());

    /// <summary>
    /// <paramref name="world"/> ranks (models seeded <paramref name="seed"/> + rank; rank 0's weights are broadcast) train
    /// with global batch 4 (micro 1 × accumulation 4/W × W); <paramref name="cancelAfter"/> cancels every rank after
    /// that step. Returns every rank's result and final weights.
    /// </summary>
    private static (SftRunResult Result, Dictionary<string, Tensor> Weights)[] Ranks(int world, ZeroStage stage, string folder,
        IReadOnlyList<SftExample> examples, CompactVocabulary vocabulary, int seed = 7, int epochs = 1, int saveEvery = 0, int cancelAfter = 0)
    {
        var models = Enumerable.Range(0, world).Select(r => SftTestKit.NewModel(seed + r, vocabulary.Config)).ToArray();  // before the threads: torch's global RNG
        try
        {
            return ThreadedProcessGroup.Run(world, comm =>
            {
                var o = Options(folder, 4 / world, stage, epochs);
                o.Checkpointing.SaveEverySteps = saveEvery;
                o.Checkpointing.KeepLast = 0;
                var trainer = new SftTrainer(models[comm.Rank], SftTestKit.Tokenizer, o)
                {
                    PadTokenId = vocabulary.PadTokenId,
                    GradientSynchronizer = new AllReduceGradientSynchronizer(comm),
                };
                using var cancel = new CancellationTokenSource();
                var result = trainer.Train(examples, new SyncProgress<SftProgress>(p => { if (p.Step == cancelAfter) cancel.Cancel(); }), cancel.Token);
                return (result, Weights(models[comm.Rank]));
            }, TimeSpan.FromSeconds(180));
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

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
    [InlineData(1, ZeroStage.None)]
    [InlineData(2, ZeroStage.None)]
    [InlineData(4, ZeroStage.None)]
    [InlineData(1, ZeroStage.Two)]
    [InlineData(2, ZeroStage.Two)]
    [InlineData(4, ZeroStage.Two)]
    public void Data_parallel_steps_equal_the_single_process_steps_with_the_same_global_batch(int world, ZeroStage stage)
    {
        var (examples, vocabulary) = Examples();

        // One process, replicated optimizer, global batch 4 (micro 1 × accumulation 4): 2 steps over the 8 examples.
        using var singleDir = new TempDir();
        using var single = SftTestKit.NewModel(7, vocabulary.Config);
        var reference = new SftTrainer(single, SftTestKit.Tokenizer, Options(singleDir.Path, 4)) { PadTokenId = vocabulary.PadTokenId }.Train(examples);

        using var dir = new TempDir();
        var ranks = Ranks(world, stage, dir.Path, examples, vocabulary);

        Assert.All(ranks, r => Assert.Equal(reference.TotalSteps, r.Result.TotalSteps));
        for (int s = 0; s < reference.Steps.Count; s++)
        {
            Assert.Equal(reference.Steps[s].Loss, ranks[0].Result.Steps[s].Loss, 1e-6);
            Assert.Equal(reference.Steps[s].GradNorm, ranks[0].Result.Steps[s].GradNorm, 1e-5);
            Assert.Equal(reference.Steps[s].Tokens, ranks[0].Result.Steps[s].Tokens);
        }
        foreach (var r in ranks) Assert.Equal(0.0, DistributedTestKit.MaxDifference(ranks[0].Weights, r.Weights));   // replicas identical
        double difference = DistributedTestKit.MaxDifference(Weights(single), ranks[0].Weights);
        output.WriteLine($"SFT world {world}, ZeRO {stage}: max |Δw| = {difference:E2}, losses {string.Join(", ", ranks[0].Result.Steps.Select(x => x.Loss.ToString("F6")))}");
        Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
        var checkpoint = Path.Combine(dir.Path, "checkpoint-2");
        Assert.True(File.Exists(Path.Combine(checkpoint, "model.safetensors")));   // rank 0 wrote the final checkpoint
        for (int r = 0; r < world && stage == ZeroStage.Two; r++)
            Assert.True(File.Exists(Path.Combine(checkpoint, ZeroCheckpoints.ShardFileName(r, world))));   // every rank its shard
    }

    [Theory]
    [Trait("Category", "Resume")]
    [InlineData(2, 2)]
    [InlineData(2, 1)]
    [InlineData(2, 4)]
    public void ZeRO2_checkpoint_resumes_on_the_same_or_another_world_size(int savedWorld, int resumedWorld)
    {
        var (examples, vocabulary) = Examples();
        // 2 epochs of 2 steps; checkpoint-2 after the first epoch.
        using var straightDir = new TempDir();
        var straight = Ranks(savedWorld, ZeroStage.Two, straightDir.Path, examples, vocabulary, epochs: 2, saveEvery: 2);

        using var dir = new TempDir();
        var first = Ranks(savedWorld, ZeroStage.Two, dir.Path, examples, vocabulary, epochs: 2, saveEvery: 2, cancelAfter: 2);
        Assert.All(first, r => Assert.False(r.Result.Completed));
        var checkpoint = Path.Combine(dir.Path, "checkpoint-2");
        Assert.Equal(checkpoint, first[0].Result.LastCheckpoint);
        for (int r = 0; r < savedWorld; r++) Assert.True(File.Exists(Path.Combine(checkpoint, ZeroCheckpoints.ShardFileName(r, savedWorld))));

        // Other initial weights: everything must come from the checkpoint (resharded when the world size differs).
        var resumed = Ranks(resumedWorld, ZeroStage.Two, dir.Path, examples, vocabulary, seed: 99, epochs: 2, saveEvery: 2);
        Assert.All(resumed, r => Assert.Equal(checkpoint, r.Result.ResumedFrom));
        Assert.Equal([3L, 4L], resumed[0].Result.Steps.Select(s => s.Step));
        for (int s = 0; s < 2; s++)
            Assert.Equal(straight[0].Result.Steps[s + 2].Loss, resumed[0].Result.Steps[s].Loss, savedWorld == resumedWorld ? 0 : 1e-6);
        double difference = DistributedTestKit.MaxDifference(straight[0].Weights, resumed[0].Weights);
        output.WriteLine($"SFT ZeRO-2 saved on {savedWorld}, resumed on {resumedWorld}: max |Δw| = {difference:E2}");
        if (savedWorld == resumedWorld) Assert.Equal(0.0, difference);                  // exact
        else Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");          // only the reduction order differs
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (<see cref="Progress{T}"/> posts to the pool).</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
