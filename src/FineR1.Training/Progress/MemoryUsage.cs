using System.Diagnostics;

namespace FineR1.Training.Progress;

/// <summary>A snapshot of the process's memory, for progress reports.</summary>
/// <param name="ResidentBytes">Resident set size of the process (native tensors on the CPU included).</param>
/// <param name="ManagedBytes">Bytes held by the .NET garbage-collected heap.</param>
public readonly record struct MemoryUsage(long ResidentBytes, long ManagedBytes)
{
    /// <summary>Measures now (cheap: no garbage collection is forced).</summary>
    public static MemoryUsage Now()
    {
        using var process = Process.GetCurrentProcess();
        return new MemoryUsage(process.WorkingSet64, GC.GetTotalMemory(forceFullCollection: false));
    }

    /// <summary>Resident memory in GiB.</summary>
    public double ResidentGiB => ResidentBytes / (double)(1L << 30);
}
