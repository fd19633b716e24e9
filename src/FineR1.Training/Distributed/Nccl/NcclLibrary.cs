using System.Runtime.InteropServices;

namespace FineR1.Training.Distributed.Nccl;

/// <summary>NCCL's 128-byte <c>ncclUniqueId</c>, passed by value to <c>ncclCommInitRank</c> (a plain blittable struct of
/// that size, so the marshaller copies it as the C struct).</summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public struct NcclUniqueId
{
    /// <summary>Bytes in an id (<c>NCCL_UNIQUE_ID_BYTES</c>).</summary>
    public const int Size = 128;

    private byte _first;   // the layout's Size pads the struct to 128 bytes

    /// <summary>The id's bytes (to send to the other ranks).</summary>
    public readonly byte[] ToArray()
    {
        var copy = this;
        return MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref copy, 1)).ToArray();
    }

    /// <summary>An id from the bytes another rank sent.</summary>
    /// <exception cref="ArgumentException">Not exactly <see cref="Size"/> bytes.</exception>
    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException($"an NCCL unique id has {Size} bytes, got {bytes.Length}.", nameof(bytes));
        var id = new NcclUniqueId();
        bytes.CopyTo(MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref id, 1)));
        return id;
    }
}

/// <summary>NCCL could not be loaded or reported an error.</summary>
public sealed class NcclException(string message, int result = 0, Exception? inner = null) : DistributedException(message, inner)
{
    /// <summary>The <c>ncclResult_t</c> code (0 when not from an NCCL call).</summary>
    public int Result { get; } = result;
}

/// <summary>
/// The NCCL C API (<c>libnccl.so.2</c>) through function pointers, resolved at first use. NCCL is not part of the
/// TorchSharp packages; it ships with PyTorch's CUDA wheels (<c>site-packages/nvidia/nccl/lib/libnccl.so.2</c>) and
/// with NVIDIA's <c>libnccl2</c> system package. Search order: <c>FINER1_NCCL_PATH</c>; the soname (already resident
/// when libtorch_cuda was loaded from a pip installation, or on the loader path); <c>nvidia/nccl/lib</c> next to every
/// <c>torch/lib</c> folder on <c>LD_LIBRARY_PATH</c>; the NCCL symbols of a loaded <c>libtorch_cuda.so</c>.
/// </summary>
internal sealed class NcclLibrary
{
    public const string PathVariable = "FINER1_NCCL_PATH";

    // ncclDataType_t and ncclRedOp_t values from nccl.h.
    public const int Int8 = 0, Uint8 = 1, Int32 = 2, Int64 = 4, Float16 = 6, Float32 = 7, Float64 = 8, BFloat16 = 9;
    public const int Sum = 0, Avg = 4;
    public const int InProgress = 7;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int GetVersionFn(out int version);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int GetUniqueIdFn(out NcclUniqueId id);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommInitRankFn(out IntPtr comm, int nranks, NcclUniqueId id, int rank);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int AllReduceFn(IntPtr send, IntPtr recv, nuint count, int dtype, int op, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int ReduceScatterFn(IntPtr send, IntPtr recv, nuint recvCount, int dtype, int op, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int AllGatherFn(IntPtr send, IntPtr recv, nuint sendCount, int dtype, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int BroadcastFn(IntPtr send, IntPtr recv, nuint count, int dtype, int root, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int GroupFn();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommFn(IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommAsyncErrorFn(IntPtr comm, out int result);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate IntPtr ErrorStringFn(int result);

    private static readonly Lazy<NcclLibrary> Shared = new(() => Load(Environment.GetEnvironmentVariable(PathVariable)));

    /// <summary>The process-wide library (loaded on first use).</summary>
    /// <exception cref="NcclException">No NCCL library was found; the message lists every place tried.</exception>
    public static NcclLibrary Instance => Shared.Value;

    public required string Source { get; init; }
    public required GetVersionFn GetVersion { get; init; }
    public required GetUniqueIdFn GetUniqueId { get; init; }
    public required CommInitRankFn CommInitRank { get; init; }
    public required AllReduceFn AllReduce { get; init; }
    public required ReduceScatterFn ReduceScatter { get; init; }
    public required AllGatherFn AllGather { get; init; }
    public required BroadcastFn Broadcast { get; init; }
    public required GroupFn GroupStart { get; init; }
    public required GroupFn GroupEnd { get; init; }
    public required CommFn CommAbort { get; init; }
    public required CommFn CommDestroy { get; init; }
    public required CommAsyncErrorFn CommGetAsyncError { get; init; }
    public required ErrorStringFn GetErrorString { get; init; }

    /// <summary>NCCL's version code (e.g. 22703 for 2.27.3).</summary>
    public int Version
    {
        get
        {
            Check(GetVersion(out int v), "ncclGetVersion");
            return v;
        }
    }

    /// <summary>Throws an <see cref="NcclException"/> with NCCL's own text when <paramref name="result"/> is not success.</summary>
    public void Check(int result, string call)
    {
        if (result == 0) return;
        string text = Marshal.PtrToStringAnsi(GetErrorString(result)) ?? "unknown error";
        throw new NcclException($"{call} failed: {text} (ncclResult_t {result}).", result);
    }

    /// <summary>Loads NCCL from <paramref name="explicitPath"/> or the default places.</summary>
    internal static NcclLibrary Load(string? explicitPath)
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates(explicitPath))
        {
            tried.Add(candidate);
            if (NativeLibrary.TryLoad(candidate, out var handle) && NativeLibrary.TryGetExport(handle, "ncclCommInitRank", out _))
                return Bind(handle, candidate);
        }
        // libtorch zips (TorchSharp's CUDA packages) link NCCL statically into libtorch_cuda.so; its symbols may be exported.
        // An explicit path is final: the user said which library to use.
        if (string.IsNullOrEmpty(explicitPath) && NativeLibrary.TryLoad("libtorch_cuda.so", out var torchCuda) && NativeLibrary.TryGetExport(torchCuda, "ncclCommInitRank", out _))
            return Bind(torchCuda, "libtorch_cuda.so (NCCL linked in)");
        if (string.IsNullOrEmpty(explicitPath)) tried.Add("libtorch_cuda.so exports");
        throw new NcclException(
            $"NCCL (libnccl.so.2) not found. Tried: {string.Join("; ", tried)}. Install PyTorch's CUDA wheel (it ships nvidia/nccl/lib/libnccl.so.2) " +
            $"or NVIDIA's libnccl2, or set {PathVariable} to the library's path.");
    }

    private static IEnumerable<string> Candidates(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            yield return explicitPath;
            yield break;
        }
        yield return "libnccl.so.2";
        foreach (var dir in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            // pip layout: site-packages/torch/lib and site-packages/nvidia/nccl/lib.
            var wheel = Path.GetFullPath(Path.Combine(dir, "..", "..", "nvidia", "nccl", "lib", "libnccl.so.2"));
            if (File.Exists(wheel)) yield return wheel;
            var direct = Path.Combine(dir, "libnccl.so.2");
            if (File.Exists(direct)) yield return direct;
        }
    }

    private static NcclLibrary Bind(IntPtr handle, string source)
    {
        T F<T>(string name) where T : Delegate =>
            NativeLibrary.TryGetExport(handle, name, out var p) ? Marshal.GetDelegateForFunctionPointer<T>(p)
                : throw new NcclException($"{source} has no export {name} (NCCL ≥ 2.11 needed).");
        return new NcclLibrary
        {
            Source = source,
            GetVersion = F<GetVersionFn>("ncclGetVersion"),
            GetUniqueId = F<GetUniqueIdFn>("ncclGetUniqueId"),
            CommInitRank = F<CommInitRankFn>("ncclCommInitRank"),
            AllReduce = F<AllReduceFn>("ncclAllReduce"),
            ReduceScatter = F<ReduceScatterFn>("ncclReduceScatter"),
            AllGather = F<AllGatherFn>("ncclAllGather"),
            Broadcast = F<BroadcastFn>("ncclBroadcast"),
            GroupStart = F<GroupFn>("ncclGroupStart"),
            GroupEnd = F<GroupFn>("ncclGroupEnd"),
            CommAbort = F<CommFn>("ncclCommAbort"),
            CommDestroy = F<CommFn>("ncclCommDestroy"),
            CommGetAsyncError = F<CommAsyncErrorFn>("ncclCommGetAsyncError"),
            GetErrorString = F<ErrorStringFn>("ncclGetErrorString"),
        };
    }
}
