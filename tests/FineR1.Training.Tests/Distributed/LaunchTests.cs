using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FineR1.Training.Distributed;

namespace FineR1.Training.Tests.Distributed;

/// <summary>torchrun-style environment, the TCP rendezvous (loopback) and the process launcher.</summary>
public sealed class LaunchTests
{
    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public void Environment_is_parsed_from_torchrun_variables()
    {
        var env = DistributedEnvironment.FromEnvironment(new Hashtable
        {
            ["RANK"] = "10", ["WORLD_SIZE"] = "16", ["LOCAL_RANK"] = "2", ["LOCAL_WORLD_SIZE"] = "8", ["MASTER_ADDR"] = "node0", ["MASTER_PORT"] = "29400",
        });
        Assert.Equal(new DistributedEnvironment(10, 16, 2, 8, "node0", 29400), env);
        Assert.Equal("10", env.ToVariables()["RANK"]);
        Assert.Same(DistributedEnvironment.Single, DistributedEnvironment.FromEnvironment(new Hashtable()));
    }

    [Theory]
    [InlineData("RANK", "4", "RANK=4 is out of range [0, 3]")]
    [InlineData("RANK", "x", "RANK='x' is not a non-negative integer")]
    [InlineData("MASTER_PORT", "70000", "MASTER_PORT=70000 is out of range")]
    [InlineData("MASTER_ADDR", "", "MASTER_ADDR is not set")]
    public void Bad_variables_are_named(string variable, string value, string message)
    {
        var vars = new Hashtable { ["RANK"] = "1", ["WORLD_SIZE"] = "4", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "29500" };
        vars[variable] = value;
        var e = Assert.Throws<DistributedConfigurationException>(() => DistributedEnvironment.FromEnvironment(vars));
        Assert.Equal(variable, e.Variable);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task Rendezvous_sends_rank_0s_payload_to_every_rank()
    {
        int port = FreePort();
        var payload = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        var tasks = Enumerable.Range(0, 4).Select(rank => Task.Run(() =>
            TcpRendezvous.Exchange(new DistributedEnvironment(rank, 4, rank, 4, "127.0.0.1", port), () => payload, TimeSpan.FromSeconds(20)))).ToArray();
        var received = await Task.WhenAll(tasks);
        Assert.All(received, r => Assert.Equal(payload, r));
    }

    [Fact]
    public async Task Rendezvous_names_the_ranks_that_did_not_join()
    {
        int port = FreePort();
        var clock = Stopwatch.StartNew();
        // Rank 2 on its own thread: under a busy test run the thread pool may not start a pooled task before rank 0's
        // deadline, and rank 2 would then be named as missing too.
        var joined = Task.Factory.StartNew(() => TcpRendezvous.Exchange(new DistributedEnvironment(2, 4, 2, 4, "127.0.0.1", port), () => [], TimeSpan.FromSeconds(12)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        // A stranger that does not speak the protocol is dropped, not counted.
        var token = TestContext.Current.CancellationToken;
        var stranger = Task.Run(async () =>
        {
            await Task.Delay(200, token);
            using var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, port, token);
            await c.GetStream().WriteAsync(new byte[12], token);
            await Task.Delay(500, token);
        }, token);
        var e = Assert.Throws<DistributedException>(() =>
            TcpRendezvous.Exchange(new DistributedEnvironment(0, 4, 0, 4, "127.0.0.1", port), () => [1, 2, 3], TimeSpan.FromSeconds(6)));
        Assert.Equal([1, 3], e.Ranks);
        Assert.Contains("ranks 1, 3 did not join within 6 s", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15));
        await stranger;
        await Assert.ThrowsAsync<DistributedException>(() => joined);   // rank 2 then finds no rank 0 and gives up in bounded time
    }

    private static LaunchOptions Shell(string script, int n) => new()
    {
        FileName = "/bin/sh", Arguments = ["-c", script], ProcessesPerNode = n, MasterPort = 29999, GracePeriod = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public void Launcher_starts_every_rank_with_its_variables()
    {
        using var dir = new TempDir();
        var result = DistributedLauncher.Run(Shell($"echo \"$RANK $WORLD_SIZE $LOCAL_RANK $MASTER_PORT $CUDA_VISIBLE_DEVICES\" > {dir.Path}/rank-$RANK", 3), TestContext.Current.CancellationToken);
        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.FailedRank);
        for (int r = 0; r < 3; r++)
            Assert.StartsWith($"{r} 3 {r} 29999 ", File.ReadAllText(Path.Combine(dir.Path, $"rank-{r}")));
    }

    [Fact]
    public void Launcher_stops_the_job_when_a_rank_dies_and_names_it()
    {
        using var dir = new TempDir();
        var clock = Stopwatch.StartNew();
        var result = DistributedLauncher.Run(Shell($"if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 3; fi; sleep 60; touch {dir.Path}/survived-$RANK", 3), TestContext.Current.CancellationToken);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(1, result.FailedRank);
        Assert.Contains("rank 1", result.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Empty(Directory.GetFiles(dir.Path));                  // the sleeping ranks were killed, not left running
    }
}
