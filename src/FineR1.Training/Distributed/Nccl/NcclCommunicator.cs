using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed.Nccl;

/// <summary>
/// <see cref="ICommunicator"/> over NCCL, one process per GPU. Collectives are enqueued on the legacy default CUDA stream
/// (the null stream): TorchSharp exposes no stream API, and libtorch's current stream in a TorchSharp process is the
/// default stream, which c10 maps to the null stream; NCCL's kernels are therefore ordered after the ops that produced
/// the buffers and before the ops that read them, with no extra synchronisation (and no compute/communication overlap).
/// Each collective then waits for the device so that a hang is detected: a watchdog thread aborts the communicator
/// (<c>ncclCommAbort</c>) when a collective exceeds <see cref="Timeout"/> or NCCL reports an asynchronous error, and the
/// call throws a <see cref="DistributedException"/>.
/// </summary>
/// <remarks>NCCL uses the calling thread's current CUDA device; FineR1 runs one process per GPU with
/// <c>CUDA_VISIBLE_DEVICES</c> set to that GPU (see <see cref="DistributedLauncher"/>), so the device is always
/// <c>cuda:0</c>.</remarks>
public sealed class NcclCommunicator : ICommunicator
{
    private readonly NcclLibrary _nccl;
    private IntPtr _comm;
    private readonly Thread _watchdog;
    private readonly object _gate = new();
    private string? _inFlight;
    private DateTime _deadline;
    private volatile string? _abortReason;
    private volatile bool _disposed;

    private NcclCommunicator(NcclLibrary nccl, IntPtr comm, int rank, int worldSize, TimeSpan timeout)
    {
        _nccl = nccl;
        _comm = comm;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
        _watchdog = new Thread(Watch) { IsBackground = true, Name = $"NCCL watchdog rank {rank}" };
        _watchdog.Start();
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int WorldSize { get; }

    /// <inheritdoc />
    public Device Device { get; } = CUDA;

    /// <inheritdoc />
    public TimeSpan Timeout { get; }

    /// <summary>Where NCCL was loaded from.</summary>
    public string LibrarySource => _nccl.Source;

    /// <summary>NCCL's version code (e.g. 22703 = 2.27.3).</summary>
    public int NcclVersion => _nccl.Version;

    /// <summary>A fresh NCCL unique id (rank 0 creates it and sends it to the others, e.g. through <see cref="TcpRendezvous"/>).</summary>
    public static NcclUniqueId CreateUniqueId()
    {
        var nccl = NcclLibrary.Instance;
        nccl.Check(nccl.GetUniqueId(out var id), "ncclGetUniqueId");
        return id;
    }

    /// <summary>Joins the communicator identified by <paramref name="id"/> as <paramref name="rank"/> of <paramref name="worldSize"/>
    /// (blocks until every rank has joined).</summary>
    /// <exception cref="NcclException">NCCL is missing or the initialisation failed.</exception>
    public static NcclCommunicator Create(NcclUniqueId id, int rank, int worldSize, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        if (!cuda.is_available()) throw new NcclException("NCCL needs CUDA, but TorchSharp reports no CUDA device.");
        InitializeDeviceType(DeviceType.CUDA);
        using (zeros(1, device: CUDA)) { }   // makes libtorch create the primary context NCCL will use
        var nccl = NcclLibrary.Instance;
        nccl.Check(nccl.CommInitRank(out var comm, worldSize, id, rank), $"ncclCommInitRank(rank {rank} of {worldSize})");
        return new NcclCommunicator(nccl, comm, rank, worldSize, timeout);
    }

    /// <summary>The communicator of this process as described by <paramref name="environment"/>: rank 0 creates the unique
    /// id and distributes it through a <see cref="TcpRendezvous"/> at MASTER_ADDR:MASTER_PORT.</summary>
    public static NcclCommunicator Create(DistributedEnvironment environment, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var bytes = TcpRendezvous.Exchange(environment, () => CreateUniqueId().ToArray(), timeout);
        return Create(NcclUniqueId.FromBytes(bytes), environment.Rank, environment.WorldSize, timeout);
    }

    /// <inheritdoc />
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        var (pointer, count, dtype) = Buffer(tensor, nameof(tensor));
        Run($"AllReduce({op})", () => _nccl.AllReduce(pointer, pointer, count, dtype, Op(op), _comm, IntPtr.Zero));
    }

    /// <inheritdoc />
    public void ReduceScatter(Tensor input, Tensor output, ReduceOp op = ReduceOp.Sum)
    {
        TensorChecks.RequireScatterShapes(input, output, WorldSize);
        var (send, _, dtype) = Buffer(input, nameof(input));
        var (receive, count, _) = Buffer(output, nameof(output));
        Run($"ReduceScatter({op})", () => _nccl.ReduceScatter(send, receive, count, dtype, Op(op), _comm, IntPtr.Zero));
    }

    /// <inheritdoc />
    public void AllGather(Tensor input, Tensor output)
    {
        TensorChecks.RequireScatterShapes(output, input, WorldSize);
        var (send, count, dtype) = Buffer(input, nameof(input));
        var (receive, _, _) = Buffer(output, nameof(output));
        Run("AllGather", () => _nccl.AllGather(send, receive, count, dtype, _comm, IntPtr.Zero));
    }

    /// <inheritdoc />
    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        var (pointer, count, dtype) = Buffer(tensor, nameof(tensor));
        Run($"Broadcast(root {root})", () => _nccl.Broadcast(pointer, pointer, count, dtype, root, _comm, IntPtr.Zero));
    }

    /// <summary>An all-reduce of one element (NCCL has no barrier).</summary>
    public void Barrier()
    {
        using var t = zeros(1, device: Device);
        AllReduce(t);
    }

    private (IntPtr Pointer, nuint Count, int DType) Buffer(Tensor tensor, string name)
    {
        TensorChecks.RequireContiguous(tensor, name);
        if (tensor.device_type != DeviceType.CUDA)
            throw new ArgumentException($"{name} is on {tensor.device}; NCCL collectives need CUDA tensors.", name);
        int dtype = tensor.dtype switch
        {
            ScalarType.Float32 => NcclLibrary.Float32,
            ScalarType.BFloat16 => NcclLibrary.BFloat16,
            ScalarType.Float16 => NcclLibrary.Float16,
            ScalarType.Float64 => NcclLibrary.Float64,
            ScalarType.Int64 => NcclLibrary.Int64,
            ScalarType.Int32 => NcclLibrary.Int32,
            ScalarType.Int8 => NcclLibrary.Int8,
            ScalarType.Byte => NcclLibrary.Uint8,
            _ => throw new ArgumentException($"{name} has dtype {tensor.dtype}, which NCCL does not reduce.", name),
        };
        return (TensorPointers.DataPointer(tensor), (nuint)tensor.NumberOfElements, dtype);
    }

    private static int Op(ReduceOp op) => op == ReduceOp.Average ? NcclLibrary.Avg : NcclLibrary.Sum;

    /// <summary>Enqueues one NCCL call on the null stream and waits for the device under the watchdog.</summary>
    private void Run(string what, Func<int> call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfAborted(what);
        _nccl.Check(call(), $"nccl{what} on rank {Rank}");
        lock (_gate)
        {
            _inFlight = what;
            _deadline = DateTime.UtcNow + Timeout;
        }
        try { cuda.synchronize(); }
        finally { lock (_gate) _inFlight = null; }
        ThrowIfAborted(what);
    }

    private void ThrowIfAborted(string what)
    {
        if (_abortReason is { } reason)
            throw new DistributedException($"rank {Rank}: {what}: the NCCL communicator was aborted: {reason}");
    }

    private void Watch()
    {
        while (!_disposed && _abortReason is null)
        {
            Thread.Sleep(50);
            string? reason = null;
            lock (_gate)
            {
                if (_comm == IntPtr.Zero) return;
                if (_inFlight is { } what && DateTime.UtcNow > _deadline)
                    reason = $"{what} did not complete within {Timeout.TotalSeconds:0.#} s (another rank died, hangs or called a different collective; the launcher's log names a rank that exited)";
                else if (_nccl.CommGetAsyncError(_comm, out int async) == 0 && async != 0 && async != NcclLibrary.InProgress)
                    reason = $"NCCL reported an asynchronous error: ncclResult_t {async}";
                if (reason is not null)
                {
                    _abortReason = reason;
                    _nccl.CommAbort(_comm);
                    _comm = IntPtr.Zero;
                }
            }
        }
    }

    /// <summary>Destroys the communicator (after the pending work completed), or does nothing after an abort.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_gate)
        {
            if (_comm != IntPtr.Zero) _nccl.CommDestroy(_comm);
            _comm = IntPtr.Zero;
        }
        _watchdog.Join(TimeSpan.FromSeconds(1));
    }
}
