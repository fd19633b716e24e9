using System.Collections;
using System.Globalization;

namespace FineR1.Training.Distributed;

/// <summary>
/// Where this process sits in a data-parallel job, from torchrun's environment variables: <c>RANK</c> (global rank),
/// <c>WORLD_SIZE</c> (processes in the job), <c>LOCAL_RANK</c> (index on this node = its GPU), <c>LOCAL_WORLD_SIZE</c>
/// (processes on this node), <c>MASTER_ADDR</c>/<c>MASTER_PORT</c> (where rank 0 listens for the rendezvous).
/// </summary>
/// <example>Node 1 of 2 with 8 GPUs each, its third process: RANK 10, WORLD_SIZE 16, LOCAL_RANK 2, LOCAL_WORLD_SIZE 8.</example>
public sealed record DistributedEnvironment(int Rank, int WorldSize, int LocalRank, int LocalWorldSize, string MasterAddress, int MasterPort)
{
    /// <summary>Default rendezvous port (torchrun's).</summary>
    public const int DefaultPort = 29500;

    /// <summary>One process, no communication.</summary>
    public static DistributedEnvironment Single { get; } = new(0, 1, 0, 1, "127.0.0.1", DefaultPort);

    /// <summary>True for a job of more than one process.</summary>
    public bool IsDistributed => WorldSize > 1;

    /// <summary>
    /// Reads the variables from <paramref name="variables"/> (default: this process's environment). Without <c>WORLD_SIZE</c>
    /// the process runs alone (<see cref="Single"/>).
    /// </summary>
    /// <exception cref="DistributedConfigurationException">A variable is missing, not a number or out of range; the message names it.</exception>
    public static DistributedEnvironment FromEnvironment(IDictionary? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => variables.Contains(name) ? variables[name] as string : null;
        if (string.IsNullOrEmpty(Get("WORLD_SIZE"))) return Single;
        int Int(string name, int? fallback, int min, int max)
        {
            var text = Get(name);
            if (string.IsNullOrEmpty(text))
                return fallback ?? throw new DistributedConfigurationException($"{name} is not set (needed when WORLD_SIZE is set).", name);
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                throw new DistributedConfigurationException($"{name}='{text}' is not a non-negative integer.", name);
            if (value < min || value > max)
                throw new DistributedConfigurationException($"{name}={value} is out of range [{min}, {max}].", name);
            return value;
        }
        int world = Int("WORLD_SIZE", null, 1, 1 << 16);
        int rank = Int("RANK", null, 0, world - 1);
        int localWorld = Int("LOCAL_WORLD_SIZE", world, 1, world);
        int localRank = Int("LOCAL_RANK", rank % localWorld, 0, localWorld - 1);
        string address = Get("MASTER_ADDR") is { Length: > 0 } a ? a
            : world == 1 ? "127.0.0.1" : throw new DistributedConfigurationException("MASTER_ADDR is not set (needed when WORLD_SIZE > 1).", "MASTER_ADDR");
        int port = Int("MASTER_PORT", world == 1 ? DefaultPort : null, 1, 65535);
        return new DistributedEnvironment(rank, world, localRank, localWorld, address, port);
    }

    /// <summary>The variables that describe this environment to a child process.</summary>
    public IReadOnlyDictionary<string, string> ToVariables() => new Dictionary<string, string>
    {
        ["RANK"] = Rank.ToString(CultureInfo.InvariantCulture),
        ["WORLD_SIZE"] = WorldSize.ToString(CultureInfo.InvariantCulture),
        ["LOCAL_RANK"] = LocalRank.ToString(CultureInfo.InvariantCulture),
        ["LOCAL_WORLD_SIZE"] = LocalWorldSize.ToString(CultureInfo.InvariantCulture),
        ["MASTER_ADDR"] = MasterAddress,
        ["MASTER_PORT"] = MasterPort.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>The launch environment is incomplete or inconsistent.</summary>
public sealed class DistributedConfigurationException(string message, string variable) : Exception(message)
{
    /// <summary>The environment variable at fault.</summary>
    public string Variable { get; } = variable;
}
