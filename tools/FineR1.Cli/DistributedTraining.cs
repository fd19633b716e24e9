using System.CommandLine;
using System.Reflection;
using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Nccl;

namespace FineR1.Cli;

/// <summary>
/// <c>finer1 train … --nproc-per-node N</c> (docs/distributed.md): with more than one process asked for and no torchrun
/// variables set, this process is the launcher — it starts N copies of itself with <c>RANK</c>, <c>WORLD_SIZE</c>,
/// <c>LOCAL_RANK</c>, <c>MASTER_ADDR</c>, <c>MASTER_PORT</c> and one GPU each, and exits with the first failing rank's
/// code. A process that finds <c>WORLD_SIZE</c> set is a rank (started by this launcher, torchrun or Slurm) and never
/// launches again.
/// </summary>
public static class DistributedTraining
{
    /// <summary>Processes on this node, one per GPU.</summary>
    public static readonly Option<int> ProcessesPerNode = new("--nproc-per-node")
    { Description = "Processes (GPUs) on this node; more than 1 trains data-parallel through NCCL (device: cuda).", DefaultValueFactory = _ => 1 };

    /// <summary>Nodes in the job.</summary>
    public static readonly Option<int> Nodes = new("--nnodes") { Description = "Nodes in the job (run finer1 once per node).", DefaultValueFactory = _ => 1 };

    /// <summary>This node's index.</summary>
    public static readonly Option<int> NodeRank = new("--node-rank") { Description = "This node's index, 0 … nnodes − 1.", DefaultValueFactory = _ => 0 };

    /// <summary>Address of node 0.</summary>
    public static readonly Option<string> MasterAddress = new("--master-addr")
    { Description = "Address of node 0, where rank 0 listens for the rendezvous.", DefaultValueFactory = _ => "127.0.0.1" };

    /// <summary>Rendezvous port.</summary>
    public static readonly Option<int> MasterPort = new("--master-port")
    { Description = "Rendezvous port on node 0.", DefaultValueFactory = _ => DistributedEnvironment.DefaultPort };

    private static readonly Option[] LauncherOptions = [ProcessesPerNode, Nodes, NodeRank, MasterAddress, MasterPort];

    /// <summary>Longest a collective (and the rendezvous) may take before the ranks give up, naming the missing one.</summary>
    public static TimeSpan CollectiveTimeout { get; } = TimeSpan.FromMinutes(10);

    /// <summary>The process's own arguments (set by Program.cs), forwarded to the ranks without the launcher's options.</summary>
    public static IReadOnlyList<string> CommandLine { get; set; } = [];

    /// <summary>Adds the launcher options to a training command.</summary>
    public static void AddOptions(Command command)
    {
        foreach (var option in LauncherOptions) command.Options.Add(option);
    }

    /// <summary>
    /// Launcher role: when more than one process is asked for and this process is not already a rank, runs the job and
    /// returns its exit code; otherwise null (this process trains).
    /// </summary>
    public static int? LaunchIfAsked(ParseResult parse, CancellationToken cancellationToken)
    {
        int perNode = parse.GetValue(ProcessesPerNode), nodes = parse.GetValue(Nodes), nodeRank = parse.GetValue(NodeRank);
        if (perNode < 1) throw new CliInputException($"--nproc-per-node must be at least 1, got {perNode}.");
        if (nodes < 1) throw new CliInputException($"--nnodes must be at least 1, got {nodes}.");
        if (nodeRank < 0 || nodeRank >= nodes) throw new CliInputException($"--node-rank must be in 0 … {nodes - 1}, got {nodeRank}.");
        if (perNode * nodes == 1 || IsRank) return null;

        var (fileName, prefix) = Self();
        var result = DistributedLauncher.Run(new LaunchOptions
        {
            FileName = fileName,
            Arguments = [.. prefix, .. WithoutLauncherOptions(CommandLine)],
            ProcessesPerNode = perNode,
            Nodes = nodes,
            NodeRank = nodeRank,
            MasterAddress = parse.GetValue(MasterAddress)!,
            MasterPort = parse.GetValue(MasterPort),
        }, cancellationToken);
        (result.ExitCode == 0 ? Console.Out : Console.Error).WriteLine(result.ExitCode == 0 ? result.Message : $"error: {result.Message}");
        return result.ExitCode;
    }

    /// <summary>True when torchrun's variables say this process is one rank of a job.</summary>
    public static bool IsRank => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WORLD_SIZE"));

    /// <summary>
    /// Rank role: this rank's communicator, or null when the job has one process. Data parallelism runs on GPUs through
    /// NCCL only; a CPU device is refused before the model is loaded.
    /// </summary>
    public static ICommunicator? JoinIfRank(string configFile, string device)
    {
        var environment = DistributedEnvironment.FromEnvironment();
        if (environment.WorldSize == 1) return null;
        if (!device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
            throw new CliInputException($"{configFile}: field device is '{device}', but rank {environment.Rank} of {environment.WorldSize} " +
                "trains data-parallel, which needs CUDA GPUs and NCCL; set device: cuda (each rank sees its own GPU as cuda:0).");
        return NcclCommunicator.Create(environment, CollectiveTimeout);
    }

    /// <summary>The program to start for each rank: the apphost itself, or <c>dotnet finer1.dll</c>.</summary>
    private static (string FileName, string[] Prefix) Self()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown.");
        var entry = Assembly.GetEntryAssembly()!.Location;
        return string.Equals(Path.GetFileNameWithoutExtension(process), "dotnet", StringComparison.OrdinalIgnoreCase) ? (process, [entry]) : (process, []);
    }

    /// <summary>
    /// Drops the launcher options (<c>--name value</c> and <c>--name=value</c>) from the arguments so that the ranks train
    /// with the rest unchanged.
    /// </summary>
    /// <example><c>train sft a.yaml --nproc-per-node 8 --verbose</c> → <c>train sft a.yaml --verbose</c>.</example>
    public static List<string> WithoutLauncherOptions(IReadOnlyList<string> arguments)
    {
        var names = LauncherOptions.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var kept = new List<string>();
        for (int i = 0; i < arguments.Count; i++)
        {
            var a = arguments[i];
            if (names.Contains(a)) { i++; continue; }                              // --name value
            if (a.IndexOf('=') is > 0 and var eq && names.Contains(a[..eq])) continue;   // --name=value
            kept.Add(a);
        }
        return kept;
    }
}
