using System.Text.Json;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>Where one tensor of a (possibly sharded) checkpoint lives.</summary>
/// <param name="File">The shard holding it.</param>
/// <param name="Entry">Its header entry in that shard.</param>
public sealed record CheckpointTensor(SafetensorsFile File, SafetensorsEntry Entry);

/// <summary>
/// A HuggingFace checkpoint opened for reading: one <c>model.safetensors</c>, or the shards listed by
/// <c>model.safetensors.index.json</c> (its <c>weight_map</c>). Only headers are read on open; tensor data is read on
/// demand, one tensor at a time.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>File name of a single-file checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";
    /// <summary>File name of the shard index.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;

    /// <summary>The folder or file that was opened.</summary>
    public string Source { get; }
    /// <summary>The open safetensors files (one, or every shard in index order).</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;
    /// <summary>Every tensor by its checkpoint name.</summary>
    public IReadOnlyDictionary<string, CheckpointTensor> Tensors { get; }
    /// <summary>The index file, when the checkpoint is sharded.</summary>
    public string? IndexPath { get; }

    private SafetensorsCheckpoint(string source, string? indexPath, List<SafetensorsFile> files, Dictionary<string, CheckpointTensor> tensors)
    {
        Source = source; IndexPath = indexPath; _files = files; Tensors = tensors;
    }

    /// <summary>
    /// Opens <paramref name="path"/>: a <c>.safetensors</c> file, an index <c>.json</c> file, or a model folder
    /// (with <c>model.safetensors.index.json</c>, else <c>model.safetensors</c>).
    /// </summary>
    /// <exception cref="CheckpointException">No checkpoint there; a corrupt index; a shard missing or corrupt; a tensor
    /// listed twice or not where the index says.</exception>
    public static SafetensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            var index = System.IO.Path.Combine(path, IndexFileName);
            if (File.Exists(index)) return OpenIndex(path, index);
            var single = System.IO.Path.Combine(path, SingleFileName);
            if (File.Exists(single)) return OpenSingle(path, single);
            throw new CheckpointException($"no {SingleFileName} or {IndexFileName} in this folder.", path);
        }
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            return OpenIndex(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, path);
        if (!File.Exists(path)) throw new CheckpointException("no such checkpoint file or folder.", path);
        return OpenSingle(path, path);
    }

    private static SafetensorsCheckpoint OpenSingle(string source, string file)
    {
        var f = SafetensorsFile.Open(file);
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var e in f.Entries.Values) tensors[e.Name] = new CheckpointTensor(f, e);
        return new SafetensorsCheckpoint(source, null, [f], tensors);
    }

    private static SafetensorsCheckpoint OpenIndex(string folder, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var files = new List<SafetensorsFile>();
        var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Values.Distinct(StringComparer.Ordinal))
            {
                if (shard.Length == 0 || shard.IndexOfAny(['/', '\\']) >= 0 || shard is "." or "..")
                    throw new CheckpointException($"weight_map names shard '{shard}', which is not a plain file name.", indexPath);
                var shardPath = System.IO.Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new CheckpointException($"shard '{shard}' named in the index is missing (expected at {shardPath}).", indexPath);
                var f = SafetensorsFile.Open(shardPath);
                files.Add(f);
                byShard[shard] = f;
            }
            var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
            {
                var f = byShard[shard];
                if (!f.Entries.TryGetValue(name, out var entry))
                    throw new CheckpointException($"the index puts tensor '{name}' in this shard, but its header does not list it.", f.Path);
                tensors[name] = new CheckpointTensor(f, entry);
            }
            // Tensors a shard holds beyond the index are still part of the checkpoint (transformers loads every key of
            // every shard); the same name in two shards is ambiguous.
            foreach (var f in files)
                foreach (var e in f.Entries.Values)
                {
                    if (tensors.TryGetValue(e.Name, out var have))
                    {
                        if (have.File != f)
                            throw new CheckpointException($"tensor '{e.Name}' is stored in both {System.IO.Path.GetFileName(have.File.Path)} and {System.IO.Path.GetFileName(f.Path)}.", indexPath);
                        continue;
                    }
                    tensors[e.Name] = new CheckpointTensor(f, e);
                }
            return new SafetensorsCheckpoint(folder, indexPath, files, tensors);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>Reads the <c>weight_map</c> (tensor name → shard file name) of an index file.</summary>
    /// <exception cref="CheckpointException">Missing file, not JSON, no <c>weight_map</c> object, non-string values.</exception>
    public static IReadOnlyDictionary<string, string> ReadWeightMap(string indexPath)
    {
        if (!File.Exists(indexPath)) throw new CheckpointException("index file not found.", indexPath);
        var bytes = File.ReadAllBytes(indexPath);
        if (bytes.Length == 0) throw new CheckpointException("empty index file (0 bytes).", indexPath);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException("corrupt index: no \"weight_map\" object.", indexPath);
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"corrupt index: weight_map entry '{p.Name}' is not a file name string.", indexPath);
                result[p.Name] = p.Value.GetString()!;
            }
            if (result.Count == 0) throw new CheckpointException("corrupt index: weight_map is empty.", indexPath);
            return result;
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"corrupt index (not JSON): {e.Message}", indexPath, e);
        }
    }

    /// <summary>Reads one tensor by its checkpoint name into a new tensor (see <see cref="SafetensorsFile.Read"/>).</summary>
    /// <exception cref="CheckpointException">No tensor of that name.</exception>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        if (!Tensors.TryGetValue(name, out var t)) throw new CheckpointException($"tensor '{name}' not found.", Source);
        return t.File.Read(name, dtype, device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
