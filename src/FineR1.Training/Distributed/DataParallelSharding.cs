using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>
/// Which part of a step's data each rank processes, chosen so that data-parallel training computes the same step as one
/// process with the same global batch.
/// </summary>
public static class DataParallelSharding
{
    /// <summary>
    /// SFT: a step's examples (in the single-process order) cut into micro-batches of <paramref name="microBatchSize"/>
    /// exactly as one process would, and micro-batch <c>j</c> given to rank <c>j mod worldSize</c>. The union over ranks
    /// is the step's examples and every micro-batch is the one the single process would form, so with the loss divided by
    /// the step's global supervised-token count and gradients summed over ranks the step equals the single-process step.
    /// The global batch is <c>microBatchSize × accumulation × worldSize</c>.
    /// </summary>
    /// <example>10 examples, micro 2, world 2 → micro-batches [0,1] [2,3] [4,5] [6,7] [8,9]; rank 0 gets [0,1] [4,5] [8,9],
    /// rank 1 [2,3] [6,7].</example>
    public static IReadOnlyList<T[]> MicroBatchesOfRank<T>(IReadOnlyList<T> stepExamples, int microBatchSize, int rank, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(stepExamples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        return stepExamples.Chunk(microBatchSize).Where((_, j) => j % worldSize == rank).ToList();
    }

    /// <summary>
    /// TAPO: the items (prompts of a draw, each becoming one whole rollout group) of <paramref name="rank"/>: contiguous
    /// blocks, the first <c>count mod worldSize</c> ranks one item more. A group is never split across ranks, so group
    /// advantages and the dynamic-sampling filter need no communication.
    /// </summary>
    /// <example>5 prompts, world 2 → rank 0 gets prompts [0, 1, 2], rank 1 [3, 4].</example>
    public static Range BlockOfRank(int count, int rank, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        int baseSize = count / worldSize, extra = count % worldSize;
        int start = rank * baseSize + Math.Min(rank, extra);
        return start..(start + baseSize + (rank < extra ? 1 : 0));
    }

    /// <summary>Copies rank 0's values of <paramref name="parameters"/> to every rank (replicas start identical, as DDP does).</summary>
    public static void BroadcastParameters(ICommunicator communicator, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(parameters);
        if (communicator.WorldSize == 1) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var p in parameters)
        {
            var buffer = p.detach().contiguous().to(communicator.Device).clone();
            communicator.Broadcast(buffer, 0);
            p.copy_(buffer);
        }
    }

    /// <summary>
    /// TAPO's token-mean loss over a whole mini-batch spread over ranks: the factor that turns a rank's token mean over its
    /// <paramref name="localTokens"/> into its share of the mean over all ranks' tokens (Σ over this rank's tokens / global
    /// count). Summing the scaled losses' gradients over ranks gives the gradient of the single-process token mean over
    /// the same mini-batch. Collective: every rank calls it once per mini-batch.
    /// </summary>
    /// <example>Rank 0 holds 30 response tokens, rank 1 holds 10 → factors 0.75 and 0.25.</example>
    public static double TokenMeanShare(ICommunicator communicator, long localTokens)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentOutOfRangeException.ThrowIfNegative(localTokens);
        double global = communicator.AllReduceScalar(localTokens);
        return global == 0 ? 0 : localTokens / global;
    }
}
