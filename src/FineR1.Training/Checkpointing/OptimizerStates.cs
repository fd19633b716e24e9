using FineR1.Core.Checkpoints;
using FineR1.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Checkpointing;

/// <summary>
/// Optimizer state as named tensors for <c>optimizer.safetensors</c>, and back. Names are
/// <c>{parameter}.exp_avg</c>, <c>{parameter}.exp_avg_sq</c>, <c>{parameter}.compensation</c> (Kahan buffer) and
/// <c>{parameter}.step</c> (int64 <c>[1]</c>), with the parameter's state-dict name, so a checkpoint is readable by
/// name and a parameter list in another order still resumes correctly.
/// </summary>
public static class OptimizerStates
{
    /// <summary>The state of TorchSharp's <see cref="AdamW"/> (<paramref name="names"/>: one per parameter, in the
    /// order of its groups' parameters). Returned tensors are views of the live state (write them before stepping).</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Export(AdamW optimizer, IReadOnlyList<string> names)
    {
        var states = States(optimizer, names);
        var result = new List<KeyValuePair<string, Tensor>>();
        for (int i = 0; i < names.Count; i++)
        {
            var s = states[i];
            result.Add(new($"{names[i]}.step", tensor(new[] { s.step }, [1], ScalarType.Int64)));
            result.Add(new($"{names[i]}.exp_avg", s.exp_avg));
            result.Add(new($"{names[i]}.exp_avg_sq", s.exp_avg_sq));
        }
        return result;
    }

    /// <summary>Restores what <see cref="Export(AdamW, IReadOnlyList{string})"/> wrote.</summary>
    /// <exception cref="TrainingCheckpointException">A parameter's state is missing or has another shape.</exception>
    public static void Import(AdamW optimizer, IReadOnlyList<string> names, SafetensorsFile file)
    {
        var states = States(optimizer, names);
        using var noGrad = no_grad();
        for (int i = 0; i < names.Count; i++)
        {
            states[i].step = ReadStep(file, names[i]);
            Copy(file, $"{names[i]}.exp_avg", states[i].exp_avg);
            Copy(file, $"{names[i]}.exp_avg_sq", states[i].exp_avg_sq);
        }
    }

    /// <summary>The state of <see cref="AnyPrecisionAdamW"/> (<paramref name="names"/>: one per
    /// <see cref="AnyPrecisionAdamW.Parameters"/> entry), through <see cref="AnyPrecisionAdamW.ExportState"/>. Parameters
    /// that never stepped get zero state. Returned tensors are the live state (write them before stepping).</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Export(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names)
    {
        CheckNames(optimizer, names);
        var result = new List<KeyValuePair<string, Tensor>>();
        for (int i = 0; i < names.Count; i++)
        {
            var s = optimizer.ExportState(i);
            result.Add(new($"{names[i]}.step", tensor(new[] { s.Step }, [1], ScalarType.Int64)));
            result.Add(new($"{names[i]}.exp_avg", s.ExpAvg));
            result.Add(new($"{names[i]}.exp_avg_sq", s.ExpAvgSq));
            if (s.Compensation is not null) result.Add(new($"{names[i]}.compensation", s.Compensation));
        }
        return result;
    }

    /// <summary>Restores what <see cref="Export(AnyPrecisionAdamW, IReadOnlyList{string})"/> wrote, through
    /// <see cref="AnyPrecisionAdamW.ImportState"/>.</summary>
    /// <exception cref="TrainingCheckpointException">A parameter's state is missing or has another shape.</exception>
    public static void Import(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names, SafetensorsFile file)
    {
        CheckNames(optimizer, names);
        using var scope = NewDisposeScope();
        for (int i = 0; i < names.Count; i++)
        {
            var current = optimizer.ExportState(i);
            var expAvg = Read(file, $"{names[i]}.exp_avg", current.ExpAvg);
            var expAvgSq = Read(file, $"{names[i]}.exp_avg_sq", current.ExpAvgSq);
            var compensation = current.Compensation is null ? null : Read(file, $"{names[i]}.compensation", current.Compensation);
            optimizer.ImportState(i, new AnyPrecisionAdamWState(ReadStep(file, names[i]), expAvg, expAvgSq, compensation));
        }
    }

    private static void CheckNames(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(names);
        if (optimizer.Parameters.Count != names.Count)
            throw new ArgumentException($"the optimizer holds {optimizer.Parameters.Count} parameters but {names.Count} names were given.", nameof(names));
    }

    private static List<AdamW.State> States(AdamW optimizer, IReadOnlyList<string> names)
    {
        var states = optimizer.state_dict().State.Cast<AdamW.State>().ToList();
        if (states.Count != names.Count)
            throw new ArgumentException($"the optimizer holds {states.Count} parameters but {names.Count} names were given.", nameof(names));
        return states;
    }

    private static long ReadStep(SafetensorsFile file, string name)
    {
        if (!file.Entries.ContainsKey($"{name}.step"))
            throw new TrainingCheckpointException($"no optimizer state for parameter '{name}'.", file.Path);
        using var t = file.Read($"{name}.step", ScalarType.Int64);
        return t.item<long>();
    }

    private static void Copy(SafetensorsFile file, string name, Tensor destination)
    {
        using var loaded = Read(file, name, destination);
        destination.copy_(loaded);
    }

    /// <summary>Reads <paramref name="name"/> in <paramref name="like"/>'s dtype and device after checking its shape.</summary>
    private static Tensor Read(SafetensorsFile file, string name, Tensor like)
    {
        var destination = like;
        if (!file.Entries.TryGetValue(name, out var entry))
            throw new TrainingCheckpointException($"missing optimizer tensor '{name}'.", file.Path);
        if (!entry.Shape.SequenceEqual(destination.shape))
            throw new TrainingCheckpointException(
                $"optimizer tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], the parameter [{string.Join(", ", destination.shape)}].", file.Path);
        return file.Read(name, destination.dtype, destination.device);
    }
}
