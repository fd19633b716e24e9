using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>
/// Loads HuggingFace safetensors checkpoints into any TorchSharp <see cref="nn.Module"/> by state-dict name:
/// a single <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>; F32/BF16/F16 (and the
/// other safetensors dtypes) converted to each parameter's dtype and device. Both spellings of Qwen2.5-VL names load
/// (Hub / transformers 4.x <c>visual.*</c>, <c>model.*</c> and transformers 5.x <c>model.visual.*</c>,
/// <c>model.language_model.*</c>), in either direction. Tied weights (two module names sharing one tensor, such as
/// <c>lm_head.weight</c> and <c>embed_tokens.weight</c>) are found generically and need only one entry.
/// </summary>
/// <remarks>
/// Memory: tensors are read one at a time. A CPU parameter whose dtype matches the file is filled straight from the
/// file into its own memory; any other destination goes through one temporary tensor of one checkpoint tensor's size.
/// Loading the 16.6 GB 7B checkpoint therefore never holds a second full copy in host memory.
/// Everything is validated (names, shapes, missing, unexpected) before the first byte is copied, so a rejected
/// checkpoint leaves the module untouched.
/// </remarks>
/// <example>
/// <code>
/// var model = new Qwen2_5_VLForConditionalGeneration(config);
/// var report = CheckpointLoader.Load(model, "/models/Fine-R1-7B");
/// Console.WriteLine($"{report.Loaded.Count} tensors, {report.GigabytesPerSecond:F2} GB/s");
/// </code>
/// </example>
public static class CheckpointLoader
{
    private const int ListedNames = 20;

    /// <summary>Loads the checkpoint at <paramref name="path"/> (folder, <c>.safetensors</c> file or index file).</summary>
    /// <exception cref="CheckpointException">Corrupt or incomplete checkpoint, a shape that disagrees with the module,
    /// tensors missing from the checkpoint or unexpected in it (unless allowed by <paramref name="options"/>).</exception>
    public static CheckpointLoadReport Load(nn.Module module, string path, CheckpointLoadOptions? options = null)
    {
        using var checkpoint = SafetensorsCheckpoint.Open(path);
        return Load(module, checkpoint, options);
    }

    /// <summary>Loads an already opened checkpoint into <paramref name="module"/>.</summary>
    /// <exception cref="CheckpointException">See <see cref="Load(nn.Module, string, CheckpointLoadOptions?)"/>.</exception>
    public static CheckpointLoadReport Load(nn.Module module, SafetensorsCheckpoint checkpoint, CheckpointLoadOptions? options = null)
    {
        options ??= CheckpointLoadOptions.Strict;
        var watch = Stopwatch.StartNew();
        var plan = Plan(module, checkpoint, options);

        long bytesRead = 0;
        using (torch.no_grad())
        {
            foreach (var (target, source) in plan.Reads)
                bytesRead += ReadInto(source, target.Tensor);
        }
        watch.Stop();
        return new CheckpointLoadReport(checkpoint.Source, checkpoint.Files.Select(f => f.Path).ToList(),
            plan.Reads.ToDictionary(r => r.Target.Name, r => r.Source.Entry.Name), plan.Tied, plan.Missing,
            plan.Unexpected, plan.TiedDuplicates, bytesRead, watch.Elapsed);
    }

    private sealed record LoadPlan(
        List<(ModuleTensor Target, CheckpointTensor Source)> Reads,
        Dictionary<string, string> Tied, List<string> Missing, List<string> Unexpected, List<string> TiedDuplicates);

    /// <summary>Matches names, checks shapes and completeness; throws before anything is copied.</summary>
    private static LoadPlan Plan(nn.Module module, SafetensorsCheckpoint checkpoint, CheckpointLoadOptions options)
    {
        var moduleTensors = ModuleTensors.Collect(module);
        var byName = moduleTensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

        // Checkpoint name → module name, trying the name as written, then its 5.x and 4.x spellings.
        var sourceOf = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var (key, tensor) in checkpoint.Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (WithoutPrefix(key, options.Prefix) is not { } local) continue;
            string? target = byName.ContainsKey(local) ? local
                : byName.ContainsKey(CheckpointKeys.ToTransformers5(local)) ? CheckpointKeys.ToTransformers5(local)
                : byName.ContainsKey(CheckpointKeys.ToTransformers4(local)) ? CheckpointKeys.ToTransformers4(local)
                : null;
            if (target is null) { unexpected.Add(key); continue; }
            if (sourceOf.TryGetValue(target, out var other))
                throw new CheckpointException(
                    $"tensors '{other.Entry.Name}' and '{key}' both map to the module's '{target}' (checkpoint mixes both name spellings).",
                    checkpoint.Source);
            sourceOf[target] = tensor;
        }

        // Shapes must agree exactly; the dtype is converted.
        var mismatches = new List<(CheckpointTensor Source, string Message)>();
        foreach (var (target, source) in sourceOf)
        {
            if (byName[target].Tensor.device_type == DeviceType.META)
                throw new CheckpointException(
                    $"the module's '{target}' is on the meta device (no memory to load into); build the model on the CPU or a GPU.",
                    checkpoint.Source);
            var expected = byName[target].Tensor.shape;
            if (!expected.SequenceEqual(source.Entry.Shape))
                mismatches.Add((source, $"tensor '{source.Entry.Name}' has shape [{string.Join(", ", source.Entry.Shape)}] in the checkpoint, " +
                    $"but the module's '{target}' has shape [{string.Join(", ", expected)}]"));
        }
        // Every mismatch at once (a wrong config usually changes several tensors), named in the file of the first.
        if (mismatches.Count > 0)
            throw new CheckpointException(string.Join("; ", mismatches.Select(m => m.Message)) + ".", mismatches[0].Source.File.Path);

        // Each sharing group is read once, from its first member (module order) the checkpoint has.
        var reads = new List<(ModuleTensor, CheckpointTensor)>();
        var tied = new Dictionary<string, string>(StringComparer.Ordinal);
        var tiedDuplicates = new List<string>();
        var missing = new List<string>();
        foreach (var group in moduleTensors.GroupBy(t => t.Group))
        {
            var members = group.ToList();
            var present = members.Where(m => sourceOf.ContainsKey(m.Name)).ToList();
            if (present.Count == 0)
            {
                missing.AddRange(members.Select(m => m.Name));
                continue;
            }
            var first = present[0];
            reads.Add((first, sourceOf[first.Name]));
            foreach (var m in members.Where(m => m != first))
            {
                tied[m.Name] = first.Name;
                if (sourceOf.TryGetValue(m.Name, out var dup)) tiedDuplicates.Add(dup.Entry.Name);
            }
        }

        var fatalMissing = options.AllowMissing ? []
            : missing.Where(n => !CheckpointLoadOptions.AnyMatch(options.IgnoreMissing, n)).ToList();
        if (fatalMissing.Count > 0)
            throw new CheckpointException(
                $"{fatalMissing.Count} module tensor(s) missing from the checkpoint: {List(fatalMissing)}. " +
                "Pass CheckpointLoadOptions.IgnoreMissing or AllowMissing to keep their current values.", checkpoint.Source);
        var fatalUnexpected = options.AllowUnexpected ? []
            : unexpected.Where(n => !CheckpointLoadOptions.AnyMatch(options.IgnoreUnexpected, n)).ToList();
        if (fatalUnexpected.Count > 0)
            throw new CheckpointException(
                $"{fatalUnexpected.Count} checkpoint tensor(s) have no counterpart in the module: {List(fatalUnexpected)}. " +
                "Pass CheckpointLoadOptions.IgnoreUnexpected or AllowUnexpected to skip them.", checkpoint.Source);
        return new LoadPlan(reads, tied, missing, unexpected, tiedDuplicates);
    }

    /// <summary>The name relative to <paramref name="prefix"/> (matched in both spellings), or null outside it.</summary>
    private static string? WithoutPrefix(string key, string? prefix)
    {
        if (string.IsNullOrEmpty(prefix)) return key;
        if (key.StartsWith(prefix, StringComparison.Ordinal)) return key[prefix.Length..];
        var key5 = CheckpointKeys.ToTransformers5(key);
        var prefix5 = CheckpointKeys.ToTransformers5(prefix);
        return key5.StartsWith(prefix5, StringComparison.Ordinal) ? key5[prefix5.Length..] : null;
    }

    /// <summary>Reads one checkpoint tensor into <paramref name="destination"/>; returns the bytes read.</summary>
    private static long ReadInto(CheckpointTensor source, Tensor destination)
    {
        var entry = source.Entry;
        var stored = SafetensorsFile.ToScalarType(entry.DType, source.File.Path);
        if (destination.device_type == DeviceType.CPU && destination.dtype == stored && destination.is_contiguous())
        {
            source.File.ReadInto(entry, destination);     // straight into the parameter's memory
        }
        else
        {
            using var temporary = torch.empty(entry.Shape, stored);   // one tensor's worth, stored dtype
            source.File.ReadInto(entry, temporary);
            destination.copy_(temporary);                              // converts dtype, moves to the device
        }
        return entry.End - entry.Begin;
    }

    private static string List(List<string> names) =>
        string.Join(", ", names.Take(ListedNames).Select(n => $"'{n}'")) + (names.Count > ListedNames ? $" … and {names.Count - ListedNames} more" : "");
}
