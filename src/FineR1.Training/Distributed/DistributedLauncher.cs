using System.Diagnostics;
using System.Globalization;

namespace FineR1.Training.Distributed;

/// <summary>What <see cref="DistributedLauncher"/> starts: N copies of one program on this node.</summary>
public sealed record LaunchOptions
{
    /// <summary>The program (e.g. <see cref="Environment.ProcessPath"/> of the <c>finer1</c> CLI).</summary>
    public required string FileName { get; init; }

    /// <summary>Its arguments, the same for every rank (the launcher's own flags removed).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Processes on this node (<c>--nproc-per-node</c>), normally its GPU count.</summary>
    public int ProcessesPerNode { get; init; } = 1;

    /// <summary>Nodes in the job (<c>--nnodes</c>).</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>This node's index (<c>--node-rank</c>); ranks of node k are k·N … k·N + N − 1.</summary>
    public int NodeRank { get; init; }

    /// <summary>Address of node 0, where rank 0 listens (<c>--master-addr</c>).</summary>
    public string MasterAddress { get; init; } = "127.0.0.1";

    /// <summary>Rendezvous port (<c>--master-port</c>).</summary>
    public int MasterPort { get; init; } = DistributedEnvironment.DefaultPort;

    /// <summary>Give each process one GPU by setting <c>CUDA_VISIBLE_DEVICES</c> to its local rank (unless the variable is
    /// already set for the launcher, in which case its i-th entry is used).</summary>
    public bool AssignGpus { get; init; } = true;

    /// <summary>Extra variables for every rank.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long the other ranks get to exit on their own after one failed, before they are killed.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>How a launched job ended.</summary>
/// <param name="ExitCode">0 when every rank exited with 0, otherwise the exit code of the first rank that failed.</param>
/// <param name="FailedRank">The global rank that failed first, or null.</param>
/// <param name="Message">A one-line summary naming the failed rank.</param>
public sealed record LaunchResult(int ExitCode, int? FailedRank, string Message);

/// <summary>
/// Starts <see cref="LaunchOptions.ProcessesPerNode"/> processes of the same program with torchrun's variables
/// (<see cref="DistributedEnvironment"/>), watches them, and when one exits non-zero kills the others (after a grace
/// period) and reports that rank. Several nodes: run the launcher once per node with the same
/// <see cref="LaunchOptions.Nodes"/>, master address and port and its own <see cref="LaunchOptions.NodeRank"/>.
/// Standard output and error are inherited.
/// </summary>
/// <example><code>
/// var result = DistributedLauncher.Run(new LaunchOptions { FileName = "finer1", Arguments = ["train", "sft", "recipe.json"], ProcessesPerNode = 8 });
/// return result.ExitCode;   // non-zero, and result.Message names the rank, when any rank failed
/// </code></example>
public static class DistributedLauncher
{
    /// <summary>Launches the job and waits for it.</summary>
    public static LaunchResult Run(LaunchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ProcessesPerNode);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Nodes);
        ArgumentOutOfRangeException.ThrowIfNegative(options.NodeRank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(options.NodeRank, options.Nodes);
        int n = options.ProcessesPerNode, world = n * options.Nodes;
        var visible = System.Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var processes = new List<(int Rank, Process Process)>();
        try
        {
            for (int local = 0; local < n; local++)
            {
                int rank = options.NodeRank * n + local;
                var info = new ProcessStartInfo(options.FileName) { UseShellExecute = false };
                foreach (var a in options.Arguments) info.ArgumentList.Add(a);
                var env = new DistributedEnvironment(rank, world, local, n, options.MasterAddress, options.MasterPort);
                foreach (var (k, v) in env.ToVariables()) info.Environment[k] = v;
                if (options.AssignGpus)
                    info.Environment["CUDA_VISIBLE_DEVICES"] = visible is { Length: > 0 } ? visible[local % visible.Length] : local.ToString(CultureInfo.InvariantCulture);
                foreach (var (k, v) in options.Environment) info.Environment[k] = v;
                processes.Add((rank, Process.Start(info) ?? throw new InvalidOperationException($"could not start rank {rank}: {options.FileName}")));
            }
            return Watch(processes, options.GracePeriod, cancellationToken);
        }
        finally
        {
            foreach (var (_, p) in processes)
            {
                Kill(p);
                p.Dispose();
            }
        }
    }

    private static LaunchResult Watch(List<(int Rank, Process Process)> processes, TimeSpan grace, CancellationToken cancellationToken)
    {
        var running = processes.ToList();
        while (running.Count > 0)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                StopAll(processes, TimeSpan.Zero);
                return new LaunchResult(130, null, "launch cancelled; every rank was stopped.");
            }
            foreach (var (rank, p) in running.ToList())
            {
                if (!p.HasExited) continue;
                running.Remove((rank, p));
                if (p.ExitCode != 0)
                {
                    StopAll(processes, grace);
                    return new LaunchResult(p.ExitCode, rank,
                        $"rank {rank} (pid {p.Id}) exited with code {p.ExitCode}; the other ranks were stopped.");
                }
            }
            if (running.Count > 0) running[0].Process.WaitForExit(TimeSpan.FromMilliseconds(100));
        }
        return new LaunchResult(0, null, $"all {processes.Count} ranks exited with code 0.");
    }

    /// <summary>Waits up to <paramref name="grace"/> for the ranks to exit (they notice the failure through their collective
    /// timeouts), then kills what is left with its child processes.</summary>
    private static void StopAll(List<(int Rank, Process Process)> processes, TimeSpan grace)
    {
        var clock = Stopwatch.StartNew();
        foreach (var (_, p) in processes)
        {
            var left = grace - clock.Elapsed;
            if (left > TimeSpan.Zero) p.WaitForExit(left);
            Kill(p);
        }
    }

    private static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException) { }   // already gone
    }
}
