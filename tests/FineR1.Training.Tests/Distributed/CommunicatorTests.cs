using System.Diagnostics;
using FineR1.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Distributed;

/// <summary>The in-process group's collectives and its failure reporting.</summary>
public sealed class CommunicatorTests
{
    private static float[] Values(Tensor t) => t.data<float>().ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Collectives_give_the_sums_gathers_and_broadcasts_of_the_ranks_values(int world)
    {
        var results = ThreadedProcessGroup.Run(world, comm =>
        {
            int r = comm.Rank;
            // Rank r holds [r·10 + 0, r·10 + 1, …] of length 2·world.
            Tensor Mine() => arange(2 * world, ScalarType.Float32) + 10 * r;
            using var sum = Mine();
            comm.AllReduce(sum);
            using var average = Mine();
            comm.AllReduce(average, ReduceOp.Average);
            using var scattered = zeros(2);
            using (var input = Mine()) comm.ReduceScatter(input, scattered);
            using var inPlace = Mine();                                       // output = this rank's block of the input
            comm.ReduceScatter(inPlace, inPlace.narrow(0, 2 * r, 2));
            using var gathered = zeros(2 * world);
            using (var block = tensor(new float[] { r, -r })) comm.AllGather(block, gathered);
            using var gatheredInPlace = zeros(2 * world);
            gatheredInPlace.narrow(0, 2 * r, 2).copy_(tensor(new float[] { r, -r }));
            comm.AllGather(gatheredInPlace.narrow(0, 2 * r, 2), gatheredInPlace);
            using var broadcast = full(3, (float)(r + 1));
            comm.Broadcast(broadcast, root: world - 1);
            comm.Barrier();
            return (Sum: Values(sum), Average: Values(average), Scattered: Values(scattered), InPlace: Values(inPlace.narrow(0, 2 * r, 2)),
                Gathered: Values(gathered), GatheredInPlace: Values(gatheredInPlace), Broadcast: Values(broadcast));
        });
        float rankSum = 10f * world * (world - 1) / 2;                       // Σ_r 10·r
        var expectedSum = Enumerable.Range(0, 2 * world).Select(i => world * i + rankSum).ToArray();
        for (int r = 0; r < world; r++)
        {
            var x = results[r];
            Assert.Equal(expectedSum, x.Sum);
            Assert.Equal(expectedSum.Select(v => v / world), x.Average);
            Assert.Equal(expectedSum.Skip(2 * r).Take(2), x.Scattered);
            Assert.Equal(expectedSum.Skip(2 * r).Take(2), x.InPlace);
            var gathered = Enumerable.Range(0, world).SelectMany(q => new float[] { q, -q }).ToArray();
            Assert.Equal(gathered, x.Gathered);
            Assert.Equal(gathered, x.GatheredInPlace);
            Assert.Equal(new float[] { world, world, world }, x.Broadcast);
        }
    }

    [Fact]
    public void Scalar_helpers_reduce_and_gather_doubles()
    {
        var results = ThreadedProcessGroup.Run(4, comm => (comm.AllReduceScalars([comm.Rank, 1]), comm.AllGatherScalars([comm.Rank * 2.0])));
        Assert.All(results, r =>
        {
            Assert.Equal(new double[] { 6, 4 }, r.Item1);
            Assert.Equal(new[] { 0.0, 2, 4, 6 }, r.Item2.Select(v => v[0]));
        });
    }

    [Fact]
    public void A_rank_that_throws_is_named_to_the_others_within_the_timeout()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<DistributedException>(() => ThreadedProcessGroup.Run(4, comm =>
        {
            if (comm.Rank == 2) throw new InvalidOperationException("out of memory in the forward pass");
            using var t = ones(3);
            comm.AllReduce(t);       // ranks 0, 1, 3 wait here for rank 2
            comm.Barrier();
        }, TimeSpan.FromSeconds(20)));
        Assert.Equal([2], e.Ranks);
        Assert.Contains("rank 2 failed", e.Message);
        Assert.Contains("out of memory", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");   // woken, not timed out
    }

    [Fact]
    public void A_rank_that_hangs_is_reported_after_the_timeout_naming_it()
    {
        using var release = new ManualResetEventSlim();
        var clock = Stopwatch.StartNew();
        try
        {
            var e = Assert.Throws<DistributedException>(() => ThreadedProcessGroup.Run(3, comm =>
            {
                if (comm.Rank == 1) release.Wait(TimeSpan.FromSeconds(60));       // stuck, e.g. in a dead-locked data loader
                using var t = ones(2);
                comm.AllReduce(t);
            }, TimeSpan.FromSeconds(1)));
            Assert.Equal([1], e.Ranks);
            Assert.Contains("rank 1 did not arrive within 1 s", e.Message);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        }
        finally { release.Set(); }
    }

    [Fact]
    public void Ranks_calling_different_collectives_fail_instead_of_mixing_data()
    {
        var e = Assert.Throws<DistributedException>(() => ThreadedProcessGroup.Run(2, comm =>
        {
            using var t = ones(2);
            if (comm.Rank == 0) comm.AllReduce(t); else comm.Broadcast(t, 0);
        }, TimeSpan.FromSeconds(5)));
        Assert.Contains("different collectives", e.Message);
        Assert.Contains("rank 1 Broadcast", e.Message);
    }

    [Fact]
    public void Collectives_refuse_buffers_of_the_wrong_size()
    {
        var e = Assert.Throws<DistributedException>(() => ThreadedProcessGroup.Run(2, comm =>
        {
            using var input = zeros(5);
            using var output = zeros(2);
            comm.ReduceScatter(input, output);
        }, TimeSpan.FromSeconds(5)));
        Assert.Contains("world size (2) × the shard (2)", e.Message);
    }

    [Fact]
    public void Data_pointer_includes_the_storage_offset_of_a_view()
    {
        using var x = zeros(10, ScalarType.BFloat16);
        using var v = x.narrow(0, 3, 4);
        Assert.Equal(3 * 2, (long)(TensorPointers.DataPointer(v) - TensorPointers.DataPointer(x)));
        using var f = zeros(4, 5);
        using var row = f[2];
        Assert.Equal(2 * 5 * 4, (long)(TensorPointers.DataPointer(row) - TensorPointers.DataPointer(f)));
    }
}

/// <summary>NCCL pieces that need no GPU: the unique id's layout and the library search's error.</summary>
public sealed class NcclLibraryTests
{
    [Fact]
    public void Unique_id_is_128_bytes_and_round_trips()
    {
        Assert.Equal(128, System.Runtime.InteropServices.Marshal.SizeOf<FineR1.Training.Distributed.Nccl.NcclUniqueId>());
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)(255 - i)).ToArray();
        Assert.Equal(bytes, FineR1.Training.Distributed.Nccl.NcclUniqueId.FromBytes(bytes).ToArray());
        Assert.Throws<ArgumentException>(() => FineR1.Training.Distributed.Nccl.NcclUniqueId.FromBytes(new byte[127]));
    }

    [Fact]
    public void A_missing_library_is_reported_with_every_place_tried()
    {
        var e = Assert.Throws<FineR1.Training.Distributed.Nccl.NcclException>(() =>
            FineR1.Training.Distributed.Nccl.NcclLibrary.Load("/nonexistent/libnccl.so.2"));
        Assert.Contains("/nonexistent/libnccl.so.2", e.Message);
        Assert.Contains("FINER1_NCCL_PATH", e.Message);
    }
}
