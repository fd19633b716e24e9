using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>
/// Saves a TorchSharp module as a HuggingFace model folder that transformers' <c>from_pretrained</c> loads:
/// <c>model.safetensors</c>, or shards <c>model-00001-of-0000n.safetensors</c> with
/// <c>model.safetensors.index.json</c> (<c>metadata.total_size</c> + <c>weight_map</c>), split as
/// huggingface_hub's <c>split_torch_state_dict_into_shards</c> does; tied weights written once; optional
/// <c>config.json</c>. Every file is written atomically (temporary file in the same folder, then rename).
/// </summary>
/// <remarks>
/// Shards are written before the index, and stale files of an earlier save (other shard counts, a single file
/// replaced by shards or the reverse) are deleted last, so an interrupted save never leaves a partial file under a
/// final name. Tensors are copied to the CPU one at a time while writing.
/// </remarks>
/// <example>
/// <code>
/// CheckpointWriter.Save(model, "/models/my-fine-r1", new CheckpointSaveOptions
/// {
///     DType = ScalarType.BFloat16, MaxShardSize = 4_000_000_000, Config = config,
/// });
/// </code>
/// </example>
public static class CheckpointWriter
{
    /// <summary>File name of the config.</summary>
    public const string ConfigFileName = "config.json";

    private static readonly Regex ShardName = new(@"^model-\d{5}-of-\d{5}\.safetensors$", RegexOptions.CultureInvariant);

    /// <summary>Saves the state dict of <paramref name="module"/> (parameters and persistent buffers).</summary>
    /// <exception cref="ArgumentException">Two module names map to one checkpoint name.</exception>
    public static CheckpointSaveReport Save(nn.Module module, string folder, CheckpointSaveOptions? options = null)
    {
        options ??= new CheckpointSaveOptions();
        var kept = new List<KeyValuePair<string, Tensor>>();
        var dropped = new List<string>();
        var seenGroups = new HashSet<int>();
        foreach (var t in ModuleTensors.Collect(module))
        {
            if (seenGroups.Add(t.Group)) kept.Add(new(t.Name, t.Tensor));
            else dropped.Add(t.Name);
        }
        return Save(kept, folder, options, dropped);
    }

    /// <summary>Saves named tensors (in the given order, which decides the shard split) as a model folder.</summary>
    /// <exception cref="ArgumentException">Two names map to one checkpoint name; a non-positive shard size.</exception>
    public static CheckpointSaveReport Save(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, string folder, CheckpointSaveOptions? options = null) =>
        Save(tensors, folder, options ?? new CheckpointSaveOptions(), []);

    private static CheckpointSaveReport Save(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, string folder,
        CheckpointSaveOptions options, List<string> dropped)
    {
        if (options.MaxShardSize <= 0) throw new ArgumentException("MaxShardSize must be positive.", nameof(options));
        Directory.CreateDirectory(folder);
        var named = new List<KeyValuePair<string, Tensor>>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            var key = CheckpointKeys.ToStyle(name, options.KeyStyle);
            if (!names.Add(key)) throw new ArgumentException($"two tensors map to the checkpoint name '{key}'.", nameof(tensors));
            named.Add(new(key, tensor));
        }

        var shards = Split(named, options);
        var files = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long total = 0;
        string? indexPath = null;
        if (shards.Count <= 1)
        {
            var path = Path.Combine(folder, SafetensorsCheckpoint.SingleFileName);
            total = SafetensorsWriter.Write(path, shards.Count == 0 ? [] : shards[0], options.DType);
            files.Add(path);
            foreach (var (k, _) in named) weightMap[k] = SafetensorsCheckpoint.SingleFileName;
        }
        else
        {
            for (int i = 0; i < shards.Count; i++)
            {
                var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                var path = Path.Combine(folder, file);
                total += SafetensorsWriter.Write(path, shards[i], options.DType);
                files.Add(path);
                foreach (var (k, _) in shards[i]) weightMap[k] = file;
            }
            indexPath = Path.Combine(folder, SafetensorsCheckpoint.IndexFileName);
            AtomicFile.WriteText(indexPath, IndexJson(total, weightMap));
        }
        if (options.Config is { } config)
            AtomicFile.WriteText(Path.Combine(folder, ConfigFileName), ConfigJson(config, named, options.DType));
        DeleteStale(folder, files, indexPath);
        AtomicFile.DeleteLeftovers(folder);
        return new CheckpointSaveReport(folder, files, indexPath, weightMap, dropped, total);
    }

    /// <summary>
    /// huggingface_hub's greedy split: tensors in order; one larger than the limit gets its own shard; otherwise a new
    /// shard starts when the next tensor would push the current one past the limit.
    /// </summary>
    private static List<List<KeyValuePair<string, Tensor>>> Split(List<KeyValuePair<string, Tensor>> tensors, CheckpointSaveOptions options)
    {
        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        var current = new List<KeyValuePair<string, Tensor>>();
        long currentSize = 0;
        foreach (var item in tensors)
        {
            long size = SafetensorsWriter.StoredBytes(item.Value, options.DType);
            if (size > options.MaxShardSize)
            {
                shards.Add([item]);
                continue;
            }
            if (currentSize + size > options.MaxShardSize && current.Count > 0)
            {
                shards.Add(current);
                current = [];
                currentSize = 0;
            }
            current.Add(item);
            currentSize += size;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);
        return shards;
    }

    /// <summary>The index as transformers writes it: <c>json.dumps(index, indent=2, sort_keys=True) + "\n"</c>.</summary>
    private static string IndexJson(long totalSize, SortedDictionary<string, string> weightMap)
    {
        var sb = new StringBuilder();
        sb.Append("{\n  \"metadata\": {\n    \"total_size\": ").Append(totalSize).Append("\n  },\n  \"weight_map\": {\n");
        sb.AppendJoin(",\n", weightMap.Select(kv => $"    {JsonSerializer.Serialize(kv.Key)}: {JsonSerializer.Serialize(kv.Value)}"));
        sb.Append("\n  }\n}\n");
        return sb.ToString();
    }

    private static string ConfigJson(Configuration.IPretrainedConfig config, List<KeyValuePair<string, Tensor>> tensors, ScalarType? dtype)
    {
        var root = JsonNode.Parse(config.ToJson())!.AsObject();
        var floating = dtype ?? tensors.Select(t => t.Value.dtype).FirstOrDefault(torch.is_floating_point, ScalarType.Float32);
        var name = floating switch
        {
            ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", ScalarType.Float64 => "float64", _ => "float32",
        };
        // transformers 5.x reads "dtype", 4.x "torch_dtype"; from_pretrained(dtype="auto") uses it.
        root["dtype"] ??= name;
        root["torch_dtype"] ??= name;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Removes weight files of an earlier save that this save did not write.</summary>
    private static void DeleteStale(string folder, List<string> written, string? indexPath)
    {
        var keep = new HashSet<string>(written.Select(Path.GetFullPath), StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            bool weights = ShardName.IsMatch(name) || name == SafetensorsCheckpoint.SingleFileName;
            bool staleIndex = name == SafetensorsCheckpoint.IndexFileName && indexPath is null;
            if ((weights && !keep.Contains(Path.GetFullPath(file))) || staleIndex) File.Delete(file);
        }
    }
}
