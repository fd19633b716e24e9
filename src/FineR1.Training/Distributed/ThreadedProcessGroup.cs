using System.Diagnostics;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>
/// An in-process process group for tests on CPUs (like PyTorch's threaded process group): every rank is a thread with
/// its own tensors, collectives meet at a shared rendezvous and reduce in rank order (so every rank gets bit-identical
/// results, and a sum equals <c>((x₀ + x₁) + x₂) + …</c>). A rank that throws, or does not reach a collective within
/// the timeout, makes the other ranks' pending and later collectives throw a <see cref="DistributedException"/> naming
/// it, so a test fails in bounded time instead of hanging.
/// </summary>
/// <example><code>
/// ThreadedProcessGroup.Run(4, comm =>
/// {
///     using var t = torch.tensor(new float[] { comm.Rank });
///     comm.AllReduce(t);                // 0 + 1 + 2 + 3 = 6 on every rank
/// });
/// </code></example>
public sealed class ThreadedProcessGroup
{
    private readonly object _gate = new();
    private readonly Tensor?[] _inputs;
    private readonly string?[] _operations;
    private readonly bool[] _present;
    private int _arrived;
    private long _generation;
    private DistributedException? _failure;

    /// <summary>Creates a group of <paramref name="worldSize"/> ranks whose collectives wait at most <paramref name="timeout"/>.</summary>
    public ThreadedProcessGroup(int worldSize, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive.");
        WorldSize = worldSize;
        Timeout = timeout;
        _inputs = new Tensor?[worldSize];
        _operations = new string?[worldSize];
        _present = new bool[worldSize];
    }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Collective timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The communicator of <paramref name="rank"/> (CPU tensors).</summary>
    public ICommunicator Communicator(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return new ThreadedCommunicator(this, rank);
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="worldSize"/> threads, one per rank, and returns their results in rank
    /// order. The first failure is rethrown as a <see cref="DistributedException"/> naming the rank that caused it (a rank
    /// that threw, or the ranks that never arrived); every thread is waited for (bounded by the collective timeout).
    /// </summary>
    public static T[] Run<T>(int worldSize, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var group = new ThreadedProcessGroup(worldSize, timeout ?? TimeSpan.FromSeconds(60));
        var results = new T[worldSize];
        var errors = new Exception?[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(rank => new Thread(() =>
        {
            using var communicator = group.Communicator(rank);
            try { results[rank] = body(communicator); }
            catch (Exception e)
            {
                errors[rank] = e;
                if (e is not DistributedException) group.Fail(new DistributedException($"rank {rank} failed: {e.GetType().Name}: {e.Message}", e) { Ranks = [rank] });
            }
        }, maxStackSize: 16 << 20) { IsBackground = true, Name = $"rank {rank}" }).ToList();
        threads.ForEach(t => t.Start());
        // Wait for every rank; once the group has failed, give the others one timeout to notice and abandon a rank that
        // still hangs (background thread) so the caller gets the error in bounded time.
        while (threads.Any(t => t.IsAlive))
        {
            if (group._failure is not null)
            {
                var clock = Stopwatch.StartNew();
                foreach (var t in threads) t.Join(Max(TimeSpan.Zero, group.Timeout - clock.Elapsed));
                break;
            }
            threads.First(t => t.IsAlive).Join(TimeSpan.FromMilliseconds(50));
        }
        if (group._failure is { } failure) throw failure;
        if (errors.FirstOrDefault(e => e is not null) is { } other) throw new DistributedException(other.Message, other);
        return results;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary><see cref="Run{T}"/> for a body without result.</summary>
    public static void Run(int worldSize, Action<ICommunicator> body, TimeSpan? timeout = null) =>
        Run(worldSize, c => { body(c); return 0; }, timeout);

    /// <summary>Marks the group failed (first failure wins) and wakes every waiting rank.</summary>
    private void Fail(DistributedException failure)
    {
        lock (_gate)
        {
            _failure ??= failure;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Waits until every rank has arrived at the same point. With <paramref name="deposit"/> the rank's tensor is published
    /// in <see cref="_inputs"/> first (it stays readable until the next deposit).
    /// </summary>
    private void Arrive(int rank, string operation, bool deposit, Tensor? input)
    {
        lock (_gate)
        {
            if (_failure is not null) throw _failure;
            long generation = _generation;
            if (deposit) _inputs[rank] = input;
            _operations[rank] = operation;
            _present[rank] = true;
            if (++_arrived == WorldSize)
            {
                var distinct = _operations.Distinct().ToList();
                _arrived = 0;
                Array.Clear(_present);
                _generation++;
                if (distinct.Count > 1)
                    _failure ??= new DistributedException("ranks called different collectives: " +
                        string.Join(", ", _operations.Select((o, r) => $"rank {r} {o}")));
                Monitor.PulseAll(_gate);
                if (_failure is not null) throw _failure;
                return;
            }
            var clock = Stopwatch.StartNew();
            while (_generation == generation)
            {
                if (_failure is not null) throw _failure;
                var left = Timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    var missing = Enumerable.Range(0, WorldSize).Where(r => !_present[r]).ToArray();
                    _failure ??= new DistributedException(
                        $"{operation}: rank{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing)} did not arrive within {Timeout.TotalSeconds:0.###} s (rank {rank} waited).")
                        { Ranks = missing };
                    Monitor.PulseAll(_gate);
                    throw _failure;
                }
                Monitor.Wait(_gate, left);
            }
            if (_failure is not null) throw _failure;
        }
    }

    /// <summary>Runs one collective: publish the input, wait for all, compute this rank's result from every input, wait
    /// until all have read, then write the result (so no rank overwrites an input another is still reading).</summary>
    private void Collective(int rank, string operation, Tensor input, Func<Tensor[], Tensor?> compute, Action<Tensor>? write)
    {
        Arrive(rank, operation, deposit: true, input);
        Tensor? result;
        using (var scope = NewDisposeScope())
        {
            result = compute(_inputs.Select(t => t!).ToArray())?.MoveToOuterDisposeScope();
        }
        Arrive(rank, operation + " (read)", deposit: false, null);
        using (result)
        {
            if (result is not null) write?.Invoke(result);
        }
    }

    private static Tensor Reduce(Tensor[] inputs, ReduceOp op)
    {
        var sum = inputs[0].clone();
        for (int r = 1; r < inputs.Length; r++) sum.add_(inputs[r]);
        if (op == ReduceOp.Average) sum.div_(inputs.Length);
        return sum;
    }

    private sealed class ThreadedCommunicator(ThreadedProcessGroup group, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int WorldSize => group.WorldSize;
        public Device Device => CPU;
        public TimeSpan Timeout => group.Timeout;

        public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
        {
            TensorChecks.RequireContiguous(tensor, nameof(tensor));
            using var noGrad = no_grad();
            group.Collective(rank, $"AllReduce({op}, {Describe(tensor)})", tensor, all => Reduce(all, op), r => tensor.copy_(r));
        }

        public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum)
        {
            TensorChecks.RequireScatterShapes(input, output, WorldSize);
            using var noGrad = no_grad();
            long n = output.NumberOfElements;
            group.Collective(rank, $"ReduceScatter({op}, {Describe(input)})", input,
                all => Reduce(all.Select(t => t.narrow(0, rank * n, n)).ToArray(), op), r => output.copy_(r));
        }

        public void AllGather(Tensor input, Tensor output)
        {
            TensorChecks.RequireScatterShapes(output, input, WorldSize);
            using var noGrad = no_grad();
            group.Collective(rank, $"AllGather({Describe(input)})", input, all => cat(all, 0), r => output.copy_(r));
        }

        public void Broadcast(Tensor tensor, int root = 0)
        {
            TensorChecks.RequireContiguous(tensor, nameof(tensor));
            ArgumentOutOfRangeException.ThrowIfNegative(root);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
            using var noGrad = no_grad();
            group.Collective(rank, $"Broadcast(root {root}, {Describe(tensor)})", tensor, all => all[root].clone(), r => tensor.copy_(r));
        }

        public void Barrier() => group.Arrive(rank, "Barrier", deposit: false, null);

        public void Dispose() { }

        private static string Describe(Tensor t) => $"{t.dtype} [{string.Join(", ", t.shape)}]";
    }
}
