using FineR1.Core.Modeling;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Optimization;
using FineR1.Training.Tapo;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using static TorchSharp.torch;
using Kit = FineR1.Training.Tests.Distributed.DistributedTestKit;

namespace FineR1.Training.Tests.Distributed;

/// <summary>
/// A TAPO step (dynamic sampling, group advantages, the TAPO objective over mini-batches, clipping, AdamW) on 1, 2 and 4
/// in-process ranks, each generating whole groups, against one process holding the whole batch.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TapoDataParallelTests(ITestOutputHelper output)
{
    private const int Groups = 6, RowsPerGroup = 4, PromptLength = 6, MaxResponse = 7, TargetGroups = 4, RowsPerMiniBatch = 8;

    /// <summary>One rollout row: prompt, response (right-padded), the old policy's and the negative image's log-probs, reward.</summary>
    private sealed record Row(string Group, long[] Prompt, long[] Response, int Length, float[] Old, float[] Aug, float Score, double Accuracy);

    /// <summary>Six groups of four rows; group 2 is all-correct and group 5 all-wrong (dynamic sampling drops them).</summary>
    private static List<Row> Draw(Qwen2_5_VLForConditionalGeneration model)
    {
        var random = new Random(5);
        var rows = new List<Row>();
        for (int g = 0; g < Groups; g++)
            for (int i = 0; i < RowsPerGroup; i++)
            {
                int length = 3 + random.Next(MaxResponse - 2);
                var response = Enumerable.Range(0, MaxResponse).Select(t => t < length ? (long)random.Next(1, 64) : 0L).ToArray();
                double accuracy = g == 2 ? 1 : g == 5 ? 0 : random.Next(2);
                rows.Add(new Row($"p{g}", Enumerable.Range(0, PromptLength).Select(_ => (long)random.Next(1, 64)).ToArray(), response, length,
                    [], [], (float)(accuracy + 0.1 * random.NextDouble()), accuracy));
            }
        // Old log-probs: the starting policy's (the first PPO step's ratio is 1); negative image: shifted by noise.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var old = LogProbs(model, rows).data<float>().ToArray();
        return rows.Select((r, i) => r with
        {
            Old = old[(i * MaxResponse)..((i + 1) * MaxResponse)],
            Aug = old[(i * MaxResponse)..((i + 1) * MaxResponse)].Select((v, t) => v - 0.05f * ((i + t) % 5)).ToArray(),
        }).ToList();
    }

    /// <summary>log π(response token | prompt, earlier response tokens), [rows, MaxResponse].</summary>
    private static Tensor LogProbs(Qwen2_5_VLForConditionalGeneration model, IReadOnlyList<Row> rows)
    {
        var ids = tensor(rows.SelectMany(r => r.Prompt.Concat(r.Response)).ToArray(), [rows.Count, PromptLength + MaxResponse], ScalarType.Int64);
        var logits = model.forward(inputIds: ids).Logits.narrow(1, PromptLength - 1, MaxResponse);        // position t predicts token t + 1
        var target = tensor(rows.SelectMany(r => r.Response).ToArray(), [rows.Count, MaxResponse], ScalarType.Int64);
        return logits.gather(-1, target.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);
    }

    private static Tensor Mask(IReadOnlyList<Row> rows) =>
        tensor(rows.SelectMany(r => Enumerable.Range(0, MaxResponse).Select(t => t < r.Length ? 1f : 0f)).ToArray(), [rows.Count, MaxResponse]);

    private static Tensor Floats(IReadOnlyList<Row> rows, Func<Row, float[]> pick) =>
        tensor(rows.SelectMany(pick).ToArray(), [rows.Count, MaxResponse]);

    /// <summary>The TAPO objective of <paramref name="rows"/> (token mean over them) with their advantages.</summary>
    private static Tensor Objective(Qwen2_5_VLForConditionalGeneration model, IReadOnlyList<Row> rows, Tensor advantages) =>
        TapoObjective.Compute(new TapoMicroBatch(LogProbs(model, rows), Floats(rows, r => r.Old), advantages, Mask(rows), Floats(rows, r => r.Aug)),
            new TapoAlgorithmOptions()).Loss;

    private static Tensor Advantages(IReadOnlyList<Row> rows) =>
        DapoAdvantage.ComputeOutcomeAdvantageFromScores(tensor(rows.Select(r => r.Score).ToArray()), Mask(rows), rows.Select(r => r.Group).ToArray());

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Data_parallel_TAPO_step_equals_the_single_process_step(int world)
    {
        // One process: the draw's batch (first 4 kept groups), advantages per group, mini-batches of 8 rows whose loss is the
        // token mean over the mini-batch, clipping to 0.5 and AdamW after each.
        Dictionary<string, Tensor> expected;
        List<Row> batch;
        using (var model = Kit.NewModel())
        {
            var draw = Draw(model);
            var accumulator = new DynamicBatchAccumulator<Row>(TargetGroups);
            accumulator.Add(draw, draw.Select(r => r.Group).ToArray(), draw.Select(r => r.Accuracy).ToArray());
            batch = accumulator.TakeBatch().Select(x => x.Row).ToList();
            var advantages = Advantages(batch);
            var trainable = Kit.Trainable(model);
            using var adamW = new AnyPrecisionAdamW(trainable.Select(t => t.Parameter), Kit.AdamW, ScalarType.Float32, kahanSummation: false);
            for (int start = 0; start < batch.Count; start += RowsPerMiniBatch)
            {
                int n = Math.Min(RowsPerMiniBatch, batch.Count - start);
                using (NewDisposeScope()) Objective(model, batch.GetRange(start, n), advantages.narrow(0, start, n)).backward();
                using (NewDisposeScope()) GradientClipping.ClipAndStep(trainable.Select(t => t.Parameter).ToList(), adamW.Step, 0.5);
            }
            expected = trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().clone());
        }
        Assert.Equal(["p0", "p1", "p3", "p4"], batch.Select(r => r.Group).Distinct());       // p2 (all correct) and p5 (all wrong) dropped

        // W ranks: rank r generates the groups of its block of prompts; the filter is local, the cut to 4 groups global.
        var models = Enumerable.Range(0, world).Select(_ => Kit.NewModel()).ToArray();
        var draws = models.Select(Draw).ToArray();
        var ranks = ThreadedProcessGroup.Run(world, comm =>
        {
            var model = models[comm.Rank];
            var block = DataParallelSharding.BlockOfRank(Groups, comm.Rank, world);
            var (start, count) = block.GetOffsetAndLength(Groups);
            var mine = draws[comm.Rank].GetRange(start * RowsPerGroup, count * RowsPerGroup);
            var sampling = new DistributedDynamicBatch<Row>(comm, TargetGroups);
            Assert.True(sampling.Add(mine, mine.Select(r => r.Group).ToArray(), mine.Select(r => r.Accuracy).ToArray()));
            var (rows, globalRows) = sampling.TakeBatch();
            Assert.Equal(16, globalRows);
            var local = rows.Select(r => r.Row).ToList();
            var advantages = local.Count == 0 ? zeros(0, MaxResponse) : Advantages(local);        // groups are whole: no communication
            var trainable = Kit.Trainable(model);
            using var zero = new ZeroRedundancyOptimizer(trainable, comm, new ZeroSettings(Kit.AdamW, GradientReduction: ReduceOp.Sum));
            for (long window = 0; window < globalRows; window += RowsPerMiniBatch)
            {
                var inWindow = Enumerable.Range(0, rows.Count).Where(i => rows[i].GlobalIndex >= window && rows[i].GlobalIndex < window + RowsPerMiniBatch).ToList();
                var part = inWindow.Select(i => local[i]).ToList();
                double share = DataParallelSharding.TokenMeanShare(comm, part.Sum(r => (long)r.Length));
                if (part.Count > 0)
                    using (NewDisposeScope())
                        (Objective(model, part, advantages.index_select(0, tensor(inWindow.Select(i => (long)i).ToArray()))) * share).backward();
                zero.Step(0.5);
            }
            return trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().clone());
        }, TimeSpan.FromSeconds(120));
        foreach (var m in models) m.Dispose();

        foreach (var r in ranks) Assert.Equal(0.0, Kit.MaxDifference(ranks[0], r));
        double difference = Kit.MaxDifference(expected, ranks[0]);
        output.WriteLine($"TAPO world {world}: max |Δw| = {difference:E2}");
        Assert.True(difference <= 1e-6, $"max |Δw| = {difference:E2}");
    }

    [Fact]
    public void A_draw_whose_groups_are_all_dropped_is_kept_whole_on_every_rank_as_on_one_process()
    {
        var kept = ThreadedProcessGroup.Run(2, comm =>
        {
            var sampling = new DistributedDynamicBatch<int>(comm, targetGroups: 2);
            // Rank 0: group a all correct; rank 1: group b all wrong → the whole draw is kept (reference quirk).
            string id = comm.Rank == 0 ? "a" : "b";
            sampling.Add([1, 2], [id, id], comm.Rank == 0 ? [1.0, 1.0] : [0.0, 0.0]);
            var (rows, total) = sampling.TakeBatch();
            return (rows.Select(r => (r.Row, r.GlobalIndex)).ToArray(), total);
        });
        Assert.Equal([(1, 0L), (2, 1L)], kept[0].Item1);
        Assert.Equal([(1, 2L), (2, 3L)], kept[1].Item1);
        Assert.Equal(4, kept[0].total);
    }
}
