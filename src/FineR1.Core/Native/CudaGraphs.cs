using System.Runtime.InteropServices;
using TorchSharp;

namespace FineR1.Core.Native;

/// <summary>
/// CUDA graphs and allocator statistics through FineR1's small native companion library <c>libfiner1_cuda.so</c>
/// (source and build script in <c>src/FineR1.Core/Native/cuda/</c>; see docs/decode-path.md). TorchSharp 0.107 exposes
/// neither, and the library is compiled against one libtorch version, so it is used only when it loads against the
/// libtorch of this process (every symbol resolves) and its self-test passes; otherwise <see cref="Available"/> is false
/// and <see cref="UnavailableReason"/> says why, once.
/// </summary>
/// <remarks>
/// Where the library is looked for, in order: <c>FINER1_CUDA_LIBRARY</c> (a file path), then
/// <c>libfiner1_cuda.so</c> next to the application and in its <c>runtimes/linux-x64/native</c> folder.
/// </remarks>
public static unsafe class CudaGraphs
{
    /// <summary>File name of the native library.</summary>
    public const string LibraryFile = "libfiner1_cuda.so";

    private static readonly object Gate = new();
    private static bool _probed;
    private static string? _reason;
    private static Api? _api;

    /// <summary>True when the library loaded and its capture/replay self-test passed on CUDA device 0.</summary>
    public static bool Available { get { Probe(); return _api is not null; } }

    /// <summary>Why <see cref="Available"/> is false (null when it is true).</summary>
    public static string? UnavailableReason { get { Probe(); return _reason; } }

    /// <summary>The libtorch version the library was compiled against (major × 100 + minor), or 0 when not loaded.</summary>
    public static int CompiledTorchVersion { get { Probe(); return _api?.Version() ?? 0; } }

    /// <summary>Allocated and reserved bytes of libtorch's CUDA caching allocator (current and peak), or null when the
    /// library is not available.</summary>
    public static CudaMemoryStats? MemoryStats(int device = 0)
    {
        if (!Available) return null;
        var values = new long[4];
        fixed (long* p = values) Check(_api!.MemoryStats(device, p), "f1_memory_stats");
        return new CudaMemoryStats(values[0], values[1], values[2], values[3]);
    }

    /// <summary>Resets the peak values of <see cref="MemoryStats"/> (no-op when the library is not available).</summary>
    public static void ResetPeakMemoryStats(int device = 0)
    {
        if (Available) Check(_api!.ResetPeak(device), "f1_reset_peak_memory_stats");
    }

    internal static Api Native => Available ? _api! : throw new InvalidOperationException($"CUDA graphs are not available: {_reason}");

    internal static void Check(int code, string what)
    {
        if (code != 0) throw new InvalidOperationException($"{what} failed: {Marshal.PtrToStringUTF8(_api!.LastError())}");
    }

    private static void Probe()
    {
        if (_probed) return;
        lock (Gate)
        {
            if (_probed) return;
            _reason = TryLoad(out _api);
            _probed = true;
        }
    }

    /// <summary>Returns null on success, else the reason.</summary>
    private static string? TryLoad(out Api? api)
    {
        api = null;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "the native library is built for Linux x64 only";
        if (!torch.cuda.is_available()) return "CUDA is not available";
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("FINER1_CUDA_LIBRARY") is { Length: > 0 } explicitPath) candidates.Add(explicitPath);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, LibraryFile));
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryFile));
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null) return $"{LibraryFile} not found (looked in {string.Join(", ", candidates)})";
        // libtorch must already be loaded (TorchSharp loaded it for is_available above) so the library binds to it.
        if (!NativeLibrary.TryLoad(path, out var handle))
            return $"{path} does not load against this process's libtorch (built for another libtorch version?): {LastDlError()}";
        try
        {
            var loaded = new Api(handle);
            int code = loaded.Probe(0);
            if (code != 0) return $"{path}: self-test (capture and replay of x.add_(1)) failed: {Marshal.PtrToStringUTF8(loaded.LastError())}";
            api = loaded;
            return null;
        }
        catch (EntryPointNotFoundException e)
        {
            return $"{path} lacks an entry point ({e.Message}): rebuild it with build.sh";
        }
    }

    private static string LastDlError()
    {
        try { return Marshal.PtrToStringUTF8(dlerror()) ?? ""; } catch (DllNotFoundException) { return ""; }
    }

    [DllImport("libc", EntryPoint = "dlerror")]
    private static extern IntPtr dlerror();

    /// <summary>The library's entry points (function pointers resolved once).</summary>
    internal sealed unsafe class Api
    {
        public readonly delegate* unmanaged<int> Version;
        public readonly delegate* unmanaged<IntPtr> LastError;
        public readonly delegate* unmanaged<int, int> Probe;
        public readonly delegate* unmanaged<ulong*, ulong*, int> PoolHandle;
        public readonly delegate* unmanaged<IntPtr> GraphNew;
        public readonly delegate* unmanaged<IntPtr, void> GraphFree;
        public readonly delegate* unmanaged<int> SideStreamEnter;
        public readonly delegate* unmanaged<int> SideStreamExit;
        public readonly delegate* unmanaged<IntPtr, ulong, ulong, int, int> CaptureBegin;
        public readonly delegate* unmanaged<IntPtr, int> CaptureEnd;
        public readonly delegate* unmanaged<IntPtr, int> Replay;
        public readonly delegate* unmanaged<int, long*, int> MemoryStats;
        public readonly delegate* unmanaged<int, int> ResetPeak;

        public Api(IntPtr lib)
        {
            Version = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "f1_version");
            LastError = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "f1_last_error");
            Probe = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(lib, "f1_probe");
            PoolHandle = (delegate* unmanaged<ulong*, ulong*, int>)NativeLibrary.GetExport(lib, "f1_graph_pool_handle");
            GraphNew = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "f1_graph_new");
            GraphFree = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(lib, "f1_graph_free");
            SideStreamEnter = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "f1_side_stream_enter");
            SideStreamExit = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "f1_side_stream_exit");
            CaptureBegin = (delegate* unmanaged<IntPtr, ulong, ulong, int, int>)NativeLibrary.GetExport(lib, "f1_graph_capture_begin");
            CaptureEnd = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "f1_graph_capture_end");
            Replay = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "f1_graph_replay");
            MemoryStats = (delegate* unmanaged<int, long*, int>)NativeLibrary.GetExport(lib, "f1_memory_stats");
            ResetPeak = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(lib, "f1_reset_peak_memory_stats");
        }
    }
}

/// <summary>libtorch CUDA caching-allocator statistics in bytes (all memory pools, CUDA graph pools included).</summary>
public sealed record CudaMemoryStats(long AllocatedBytes, long PeakAllocatedBytes, long ReservedBytes, long PeakReservedBytes);

/// <summary>
/// One captured CUDA graph. <see cref="Capture"/> runs <c>body</c> once on a side stream while recording every kernel it
/// launches (nothing executes); <see cref="Replay"/> launches the recorded kernels again, reading and writing the same
/// memory. Tensors created during capture live in the graph's memory pool; keep the outputs you need (e.g. the logits)
/// and read them after each replay.
/// </summary>
public sealed unsafe class CudaGraph : IDisposable
{
    private static readonly object PoolGate = new();
    private static (ulong, ulong)? _sharedPool;
    private IntPtr _handle;

    /// <summary>Creates an empty graph (throws when <see cref="CudaGraphs.Available"/> is false).</summary>
    public CudaGraph()
    {
        _handle = CudaGraphs.Native.GraphNew();
        if (_handle == IntPtr.Zero) CudaGraphs.Check(1, "f1_graph_new");
    }

    /// <summary>Runs <paramref name="body"/> on the capture side stream without capturing (warm-up: cuBLAS workspaces and
    /// lazily loaded kernels are set up there before capture), then synchronises.</summary>
    public static T OnSideStream<T>(Func<T> body)
    {
        var api = CudaGraphs.Native;
        CudaGraphs.Check(api.SideStreamEnter(), "f1_side_stream_enter");
        try { return body(); }
        finally { CudaGraphs.Check(api.SideStreamExit(), "f1_side_stream_exit"); }
    }

    /// <summary>
    /// Records <paramref name="body"/> (which must run on this thread, launch only device work, and read nothing back
    /// to the host) into this graph, in the memory pool shared by all FineR1 graphs. Thread-local capture mode: other
    /// threads (the .NET finaliser freeing tensors) may keep calling CUDA.
    /// </summary>
    public T Capture<T>(Func<T> body)
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        var api = CudaGraphs.Native;
        var (first, second) = SharedPool();
        // Pending finalisers of earlier tensors run now rather than during the capture.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        CudaGraphs.Check(api.CaptureBegin(_handle, first, second, 1 /* cudaStreamCaptureModeThreadLocal */), "f1_graph_capture_begin");
        T result;
        try { result = body(); }
        catch
        {
            api.CaptureEnd(_handle);
            throw;
        }
        CudaGraphs.Check(api.CaptureEnd(_handle), "f1_graph_capture_end");
        return result;
    }

    /// <summary>Launches the captured work on the current (default) stream; asynchronous like any launch.</summary>
    public void Replay()
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        CudaGraphs.Check(CudaGraphs.Native.Replay(_handle), "f1_graph_replay");
    }

    private static (ulong, ulong) SharedPool()
    {
        lock (PoolGate)
        {
            if (_sharedPool is { } pool) return pool;
            ulong first, second;
            CudaGraphs.Check(CudaGraphs.Native.PoolHandle(&first, &second), "f1_graph_pool_handle");
            _sharedPool = (first, second);
            return (first, second);
        }
    }

    /// <summary>Frees the graph (its pool memory returns to libtorch once no graph uses the pool).</summary>
    public void Dispose()
    {
        if (_handle == IntPtr.Zero) return;
        CudaGraphs.Native.GraphFree(_handle);
        _handle = IntPtr.Zero;
    }
}
