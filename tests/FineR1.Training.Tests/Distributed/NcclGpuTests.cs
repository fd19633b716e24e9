using FineR1.Training.Distributed;
using FineR1.Training.Distributed.Nccl;
using FineR1.Training.Distributed.Zero;
using FineR1.Training.Tests.Sft;
using TorchSharp;
using static TorchSharp.torch;
using Kit = FineR1.Training.Tests.Distributed.DistributedTestKit;

namespace FineR1.Training.Tests.Distributed;

/// <summary>
/// The real NCCL library on one GPU (world size 1: NCCL refuses two ranks on one device), and the ZeRO-2 path on CUDA
/// against the unsharded step. Set <c>FINER1_TEST_REPORT_DIR</c> to get the measured values in <c>nccl-gpu.txt</c>.
/// </summary>
[Trait("Category", "Gpu")]
[Collection(SerialTorchCollection.Name)]
public sealed class NcclGpuTests(ITestOutputHelper output)
{
    private void Report(string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("FINER1_TEST_REPORT_DIR") is { Length: > 0 } dir)
            File.AppendAllText(Path.Combine(dir, "nccl-gpu.txt"), line + Environment.NewLine);
    }

    private static NcclCommunicator WorldOfOne() =>
        NcclCommunicator.Create(NcclCommunicator.CreateUniqueId(), rank: 0, worldSize: 1, TimeSpan.FromSeconds(60));

    [Fact]
    public void NCCL_collectives_read_and_write_views_at_their_storage_offsets()
    {
        Gpu.RequireCuda();
        using var comm = WorldOfOne();
        Report($"NCCL {comm.NcclVersion} from {comm.LibrarySource}");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var source = arange(10, dtype, CUDA);
            // Reduce-scatter / all-gather of one rank copy the block; views prove the pointers include the offset.
            using var scattered = zeros(10, dtype, CUDA);
            comm.ReduceScatter(source.narrow(0, 3, 4), scattered.narrow(0, 5, 4), ReduceOp.Average);
            Assert.Equal(new float[] { 0, 0, 0, 0, 0, 3, 4, 5, 6, 0 }, scattered.to_type(ScalarType.Float32).cpu().data<float>().ToArray());
            using var gathered = zeros(10, dtype, CUDA);
            comm.AllGather(source.narrow(0, 6, 3), gathered.narrow(0, 1, 3));
            Assert.Equal(new float[] { 0, 6, 7, 8, 0, 0, 0, 0, 0, 0 }, gathered.to_type(ScalarType.Float32).cpu().data<float>().ToArray());
            using var reduced = arange(10, dtype, CUDA);
            comm.AllReduce(reduced.narrow(0, 2, 3));
            comm.Broadcast(reduced.narrow(0, 7, 2), 0);
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), reduced.to_type(ScalarType.Float32).cpu().data<float>().ToArray());
        }
        Assert.Equal(new double[] { 3, 4 }, comm.AllReduceScalars([3, 4]));
        comm.Barrier();
        Assert.Throws<ArgumentException>(() => comm.AllReduce(zeros(3)));                 // CPU tensor refused, not passed to NCCL
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32)]
    public void ZeRO_through_NCCL_on_CUDA_equals_the_unsharded_step(ScalarType dtype)
    {
        Gpu.RequireCuda();
        bool bf16 = dtype == ScalarType.BFloat16;
        const int steps = 3, micro = 4;
        double maxNorm = bf16 ? 1e9 : 0.5;             // bf16: no clipping, so the comparison is bit for bit
        var reference = Kit.SingleProcess(steps, micro, maxNorm, dtype, kahan: bf16, device: CUDA);
        // CUDA kernels may reduce in a different order from run to run: measure that floor with a second reference run.
        double floor = Kit.MaxDifference(reference, Kit.SingleProcess(steps, micro, maxNorm, dtype, kahan: bf16, device: CUDA));
        using var comm = WorldOfOne();
        using var model = Kit.NewModel(dtype: dtype, device: CUDA);
        var trainable = Kit.Trainable(model);
        using var zero = new ZeroRedundancyOptimizer(trainable, comm, new ZeroSettings(Kit.AdamW, ScalarType.Float32, bf16, ReduceOp.Sum), Kit.Decays);
        for (int step = 0; step < steps; step++)
        {
            Kit.Backward(model, step, micro);
            Assert.True(zero.Step(maxNorm).Stepped);
        }
        var sharded = trainable.ToDictionary(t => t.Name, t => t.Parameter.detach().cpu().clone());
        double difference = Kit.MaxDifference(reference, sharded);
        Report($"ZeRO on CUDA via NCCL, {dtype}, {steps} steps: max |Δw| vs AnyPrecisionAdamW = {difference:E2} (reference vs itself: {floor:E2})");
        if (bf16) Assert.True(difference <= floor, $"max |Δw| = {difference:E2}, run-to-run {floor:E2}");   // bit for bit when CUDA is deterministic
        else Assert.True(difference <= Math.Max(1e-6, floor), $"max |Δw| = {difference:E2}");
    }
}
