using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>How <see cref="ICommunicator.AllReduce"/> and <see cref="ICommunicator.ReduceScatter"/> combine the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum over ranks.</summary>
    Sum,

    /// <summary>Element-wise sum over ranks divided by the world size.</summary>
    Average,
}

/// <summary>
/// The collectives data-parallel training needs, over a fixed group of <see cref="WorldSize"/> ranks (one per GPU in
/// production, one per thread in tests). Every rank must call the same collectives in the same order with tensors of the
/// same shape and dtype; a rank that fails or does not arrive within <see cref="Timeout"/> makes the call throw a
/// <see cref="DistributedException"/> naming it on the other ranks. Tensors must be contiguous and live on
/// <see cref="Device"/>.
/// </summary>
/// <remarks>Implementations: <see cref="ThreadedProcessGroup"/> (in-process, CPU tensors, for tests) and
/// <see cref="Nccl.NcclCommunicator"/> (one process per GPU through NCCL).</remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>This rank, 0 … <see cref="WorldSize"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>Device every tensor passed in must live on.</summary>
    Device Device { get; }

    /// <summary>How long a collective waits for the other ranks before it fails.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Replaces <paramref name="tensor"/> on every rank by the element-wise reduction over ranks.</summary>
    void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>
    /// Reduces <paramref name="input"/> (<c>[WorldSize · n]</c>, flat) over ranks and leaves block <see cref="Rank"/> of the
    /// result in <paramref name="output"/> (<c>[n]</c>).
    /// </summary>
    /// <example>World 2, input on rank 0 [1, 2, 3, 4], on rank 1 [10, 20, 30, 40], Sum → rank 0 gets [11, 22], rank 1 [33, 44].</example>
    void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum);

    /// <summary>Concatenates every rank's <paramref name="input"/> (<c>[n]</c>) in rank order into <paramref name="output"/> (<c>[WorldSize · n]</c>).</summary>
    void AllGather(Tensor input, Tensor output);

    /// <summary>Overwrites <paramref name="tensor"/> on every rank with rank <paramref name="root"/>'s.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
}

/// <summary>A collective failed: another rank died, did not arrive in time, or called a different collective.</summary>
public class DistributedException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The ranks held responsible (empty when unknown).</summary>
    public IReadOnlyList<int> Ranks { get; init; } = [];
}

/// <summary>Host-side helpers over <see cref="ICommunicator"/> (named apart from the tensor collectives: TorchSharp converts a double to a tensor implicitly).</summary>
public static class CommunicatorExtensions
{
    /// <summary>All-reduces a few doubles (counts, norms, losses) through a float64 tensor on the communicator's device.</summary>
    /// <example>Rank r passes [r, 1] in a world of 4 → every rank gets [6, 4].</example>
    public static double[] AllReduceScalars(this ICommunicator communicator, double[] values, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(values);
        if (communicator.WorldSize == 1) return (double[])values.Clone();   // sum and average of one rank
        using var scope = NewDisposeScope();
        var t = tensor(values, ScalarType.Float64).to(communicator.Device);
        communicator.AllReduce(t, op);
        return t.cpu().data<double>().ToArray();
    }

    /// <summary>All-reduces one double.</summary>
    public static double AllReduceScalar(this ICommunicator communicator, double value, ReduceOp op = ReduceOp.Sum) =>
        communicator.AllReduceScalars([value], op)[0];

    /// <summary>Every rank's <paramref name="values"/> (same length on all ranks), indexed [rank][i].</summary>
    public static double[][] AllGatherScalars(this ICommunicator communicator, double[] values)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(values);
        if (communicator.WorldSize == 1) return [(double[])values.Clone()];
        using var scope = NewDisposeScope();
        var input = tensor(values, ScalarType.Float64).to(communicator.Device);
        var output = zeros(values.Length * communicator.WorldSize, ScalarType.Float64, communicator.Device);
        communicator.AllGather(input, output);
        var all = output.cpu().data<double>().ToArray();
        return Enumerable.Range(0, communicator.WorldSize).Select(r => all[(r * values.Length)..((r + 1) * values.Length)]).ToArray();
    }
}
