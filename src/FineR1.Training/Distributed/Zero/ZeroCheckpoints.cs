using System.Globalization;
using FineR1.Core.Checkpoints;
using FineR1.Training.Checkpointing;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed.Zero;

/// <summary>
/// Sharded checkpoints of a <see cref="ZeroRedundancyOptimizer"/>: rank 0 writes the usual training checkpoint
/// (<see cref="TrainingCheckpoints"/>: HF-layout weights, <c>trainer_state.json</c>) and every rank writes its optimizer
/// shard, <c>zero-optimizer-{rank}-of-{world}.safetensors</c> (<c>exp_avg</c>, <c>exp_avg_sq</c>, <c>compensation</c> over
/// the shard's flat range, and <c>step</c>; the metadata records rank, world size, shard range and the parameter layout).
/// The shards are written into a staging folder and moved into the checkpoint before rank 0 renames it into place, so a
/// crash never leaves a checkpoint with missing shards. Resuming on the same world size restores every shard as saved;
/// on another world size each rank copies its new flat range out of the old shards (re-sharding, no full gather).
/// </summary>
public static class ZeroCheckpoints
{
    /// <summary>Shard file name of <paramref name="rank"/> in a world of <paramref name="worldSize"/>.</summary>
    public static string ShardFileName(int rank, int worldSize) =>
        string.Create(CultureInfo.InvariantCulture, $"zero-optimizer-{rank}-of-{worldSize}.safetensors");

    /// <summary>
    /// Collective (every rank calls it): writes <c>checkpoint-{step}</c> under <paramref name="outputFolder"/>. Only rank 0
    /// calls <paramref name="contentOnRank0"/> (model, config, trainer state; its optimizer state is ignored).
    /// Returns the checkpoint folder on every rank.
    /// </summary>
    public static string Save(string outputFolder, long step, ZeroRedundancyOptimizer optimizer, Func<TrainingCheckpointContent> contentOnRank0, int keepLast = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(contentOnRank0);
        var comm = optimizer.Communicator;
        var staging = Path.Combine(outputFolder, string.Create(CultureInfo.InvariantCulture, $".zero-shards-{step}.staging"));
        if (comm.Rank == 0)
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            Directory.CreateDirectory(staging);
        }
        comm.Barrier();
        using (var scope = NewDisposeScope())
        {
            var (stepCount, expAvg, expAvgSq, compensation) = optimizer.ShardState();
            var tensors = new List<KeyValuePair<string, Tensor>>
            {
                new("step", tensor(new[] { stepCount }, [1], ScalarType.Int64)),
                new("exp_avg", expAvg),
                new("exp_avg_sq", expAvgSq),
            };
            if (compensation is not null) tensors.Add(new("compensation", compensation));
            var layout = optimizer.Layout;
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "finer1-zero2",
                ["rank"] = comm.Rank.ToString(CultureInfo.InvariantCulture),
                ["world_size"] = comm.WorldSize.ToString(CultureInfo.InvariantCulture),
                ["shard_offset"] = (comm.Rank * layout.ShardSize).ToString(CultureInfo.InvariantCulture),
                ["shard_size"] = layout.ShardSize.ToString(CultureInfo.InvariantCulture),
                ["total"] = layout.Total.ToString(CultureInfo.InvariantCulture),
                ["layout"] = layout.Signature,
            };
            SafetensorsWriter.Write(Path.Combine(staging, ShardFileName(comm.Rank, comm.WorldSize)), tensors, metadata: metadata);
        }
        comm.Barrier();
        var folder = Path.Combine(outputFolder, TrainingCheckpoints.FolderPrefix + step.ToString(CultureInfo.InvariantCulture));
        Exception? failure = null;
        if (comm.Rank == 0)
        {
            try
            {
                var shards = Enumerable.Range(0, comm.WorldSize).Select(r => Path.Combine(staging, ShardFileName(r, comm.WorldSize))).ToList();
                var content = contentOnRank0() with { OptimizerState = [], MoveFilesIn = shards };
                folder = TrainingCheckpoints.Save(outputFolder, content, keepLast);
                Directory.Delete(staging, recursive: true);
            }
            catch (Exception e) { failure = e; }
        }
        // Everyone learns whether rank 0 succeeded, so no rank goes on believing in a checkpoint that does not exist.
        if (comm.AllReduceScalar(failure is null ? 0 : 1) != 0)
            throw failure ?? new DistributedException($"rank 0 failed to write checkpoint-{step}; see its log.") { Ranks = [0] };
        return folder;
    }

    /// <summary>
    /// Collective: loads the weights of <paramref name="checkpointFolder"/> into <paramref name="model"/> (when given) and this
    /// rank's optimizer shard, re-sharding when the checkpoint was written by another world size.
    /// </summary>
    /// <exception cref="TrainingCheckpointException">Shards are missing (named), disagree, or belong to another parameter layout.</exception>
    public static void Load(string checkpointFolder, ZeroRedundancyOptimizer optimizer, nn.Module? model = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (model is not null) CheckpointLoader.Load(model, checkpointFolder);
        var shards = OpenShards(checkpointFolder, optimizer.Layout);
        try
        {
            var layout = optimizer.Layout;
            long begin = optimizer.Communicator.Rank * layout.ShardSize, end = begin + layout.ShardSize;
            var device = optimizer.FlatParameters.device;
            using var scope = NewDisposeScope();
            var dtype = optimizer.Settings.StateDType;
            Tensor Gather(string name)
            {
                var result = zeros(layout.ShardSize, dtype, device);
                foreach (var (file, offset, size) in shards)
                {
                    long from = Math.Max(begin, offset), to = Math.Min(end, offset + size);
                    if (to <= from) continue;
                    using var stored = file.Read(name, dtype, device);
                    result.narrow(0, from - begin, to - from).copy_(stored.narrow(0, from - offset, to - from));
                }
                return result;
            }
            bool kahan = optimizer.Settings.KahanSummation;
            if (kahan && !shards[0].File.Entries.ContainsKey("compensation"))
                throw new TrainingCheckpointException("the optimizer uses Kahan summation but the checkpoint's shards have no compensation buffer.", checkpointFolder);
            using var stepTensor = shards[0].File.Read("step", ScalarType.Int64);
            optimizer.ImportShardState(stepTensor.item<long>(), Gather("exp_avg"), Gather("exp_avg_sq"), kahan ? Gather("compensation") : null);
        }
        finally
        {
            foreach (var s in shards) s.File.Dispose();
        }
    }

    private static List<(SafetensorsFile File, long Offset, long Size)> OpenShards(string folder, FlatLayout layout)
    {
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "zero-optimizer-*-of-*.safetensors") : [];
        if (files.Length == 0) throw new TrainingCheckpointException("no zero-optimizer-*.safetensors shards (not a ZeRO checkpoint).", folder);
        var opened = new List<(SafetensorsFile, long, long)>();
        try
        {
            int? world = null;
            var ranks = new HashSet<int>();
            foreach (var path in files.Order(StringComparer.Ordinal))
            {
                var file = SafetensorsFile.Open(path);
                opened.Add((file, 0, 0));
                string Meta(string key) => file.Metadata.TryGetValue(key, out var v) ? v
                    : throw new TrainingCheckpointException($"shard metadata has no '{key}'.", path);
                long Number(string key) => long.TryParse(Meta(key), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                    : throw new TrainingCheckpointException($"shard metadata '{key}' = '{Meta(key)}' is not a number.", path);
                if (Meta("format") != "finer1-zero2") throw new TrainingCheckpointException($"unknown shard format '{Meta("format")}'.", path);
                if (Meta("layout") != layout.Signature)
                    throw new TrainingCheckpointException("the shard was written for other trainable parameters (names or sizes differ).", path);
                if (Number("total") != layout.Total) throw new TrainingCheckpointException($"the shard's model has {Number("total")} trainable elements, this one {layout.Total}.", path);
                int w = (int)Number("world_size");
                if (world is not null && world != w) throw new TrainingCheckpointException($"shards of world sizes {world} and {w} are mixed.", folder);
                world = w;
                int rank = (int)Number("rank");
                long offset = Number("shard_offset"), size = Number("shard_size");
                if (rank >= w || offset != rank * size || !ranks.Add(rank))
                    throw new TrainingCheckpointException($"shard metadata is inconsistent (rank {rank} of {w}, offset {offset}, size {size}).", path);
                foreach (var name in new[] { "exp_avg", "exp_avg_sq", "compensation" })
                    if (file.Entries.TryGetValue(name, out var entry) && !entry.Shape.SequenceEqual([size]))
                        throw new TrainingCheckpointException($"'{name}' has shape [{string.Join(", ", entry.Shape)}], the shard [{size}].", path);
                opened[^1] = (file, offset, size);
            }
            var missing = Enumerable.Range(0, world!.Value).Where(r => !ranks.Contains(r)).ToArray();
            if (missing.Length > 0)
                throw new TrainingCheckpointException($"optimizer shards of rank{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing)} (of {world}) are missing.", folder);
            return opened;
        }
        catch
        {
            foreach (var o in opened) o.Item1.Dispose();
            throw;
        }
    }
}
