using FineR1.Cli;

namespace FineR1.Sdk.Tests.Cli;

/// <summary><c>finer1 train … --nproc-per-node N</c>: the launcher role, the rank role, and their errors (no GPU needed:
/// a CPU device is refused by every rank before a model loads, which the launcher then reports).</summary>
public sealed class DistributedCliTests
{
    private static string ToolDll => CliTests.ToolDll;

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Config(TempDir dir, string kind)
    {
        File.WriteAllText(dir.File($"{kind}.yaml"), $"""
            model: {dir.File("no-model")}
            data: {dir.File("no-data.json")}
            device: cpu
            """);
        return $"{kind}.yaml";
    }

    [Fact]
    public void Launcher_options_are_removed_from_what_the_ranks_get()
    {
        Assert.Equal(["train", "sft", "a.yaml", "--verbose", "--no-resume"], DistributedTraining.WithoutLauncherOptions(
            ["train", "sft", "a.yaml", "--nproc-per-node", "8", "--verbose", "--master-port=29555", "--nnodes", "2", "--node-rank", "1",
             "--master-addr", "10.0.0.1", "--no-resume"]));
    }

    [Theory]
    [InlineData("sft")]
    [InlineData("tapo")]
    public async Task Two_ranks_on_a_cpu_device_are_refused_and_the_launcher_names_the_failed_rank(string kind)
    {
        using var dir = TestPaths.NewTempDir();
        var result = await DotnetCli.RunAsync(dir.Path, "dotnet", [ToolDll, "train", kind, Config(dir, kind), "--nproc-per-node", "2",
            "--master-port", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)], timeout: TimeSpan.FromMinutes(3));
        Assert.True(result.ExitCode == 2, result.Output);
        Assert.Contains("needs CUDA GPUs and NCCL", result.Output);
        Assert.Matches(@"error: rank [01] \(pid \d+\) exited with code 2; the other ranks were stopped\.", result.Output);
    }

    [Fact]
    public async Task A_process_that_is_already_a_rank_trains_instead_of_launching_again()
    {
        using var dir = TestPaths.NewTempDir();
        var environment = new Dictionary<string, string>
        {
            ["RANK"] = "1", ["WORLD_SIZE"] = "2", ["LOCAL_RANK"] = "1", ["LOCAL_WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "29511",
        };
        var result = await DotnetCli.RunAsync(dir.Path, "dotnet", [ToolDll, "train", "sft", Config(dir, "sft"), "--nproc-per-node", "2"],
            environment, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 2, result.Output);
        Assert.Contains("rank 1 of 2 trains data-parallel", result.Output);
        Assert.DoesNotContain("exited with code", result.Output);
    }

    [Theory]
    [InlineData("--nproc-per-node", "0", "--nproc-per-node must be at least 1")]
    [InlineData("--node-rank", "3", "--node-rank must be in 0 … 0")]
    public async Task Bad_launcher_options_are_usage_errors(string option, string value, string message)
    {
        using var dir = TestPaths.NewTempDir();
        var result = await DotnetCli.RunAsync(dir.Path, "dotnet", [ToolDll, "train", "sft", Config(dir, "sft"), option, value], timeout: TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 2, result.Output);
        Assert.Contains(message, result.Output);
    }
}
