using System.Reflection;
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
    /// <see cref="AnyPrecisionAdamW.Parameters"/> entry). Parameters that never stepped get zero state.</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Export(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names)
    {
        var result = new List<KeyValuePair<string, Tensor>>();
        var access = new AnyPrecisionAccess(optimizer, names);
        for (int i = 0; i < names.Count; i++)
        {
            var (step, expAvg, expAvgSq, compensation) = access.Get(i);
            result.Add(new($"{names[i]}.step", tensor(new[] { step }, [1], ScalarType.Int64)));
            result.Add(new($"{names[i]}.exp_avg", expAvg));
            result.Add(new($"{names[i]}.exp_avg_sq", expAvgSq));
            if (compensation is not null) result.Add(new($"{names[i]}.compensation", compensation));
        }
        return result;
    }

    /// <summary>Restores what <see cref="Export(AnyPrecisionAdamW, IReadOnlyList{string})"/> wrote.</summary>
    public static void Import(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names, SafetensorsFile file)
    {
        var access = new AnyPrecisionAccess(optimizer, names);
        using var noGrad = no_grad();
        for (int i = 0; i < names.Count; i++)
        {
            var (_, expAvg, expAvgSq, compensation) = access.Get(i);
            access.SetStep(i, ReadStep(file, names[i]));
            Copy(file, $"{names[i]}.exp_avg", expAvg);
            Copy(file, $"{names[i]}.exp_avg_sq", expAvgSq);
            if (compensation is not null) Copy(file, $"{names[i]}.compensation", compensation);
        }
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
        if (!file.Entries.TryGetValue(name, out var entry))
            throw new TrainingCheckpointException($"missing optimizer tensor '{name}'.", file.Path);
        if (!entry.Shape.SequenceEqual(destination.shape))
            throw new TrainingCheckpointException(
                $"optimizer tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], the parameter [{string.Join(", ", destination.shape)}].", file.Path);
        using var loaded = file.Read(name, destination.dtype, destination.device);
        destination.copy_(loaded);
    }

    /// <summary>
    /// Reads and writes <see cref="AnyPrecisionAdamW"/>'s private per-parameter state. It has no public state API yet;
    /// this adapter is the only place that depends on its internals (covered by a round-trip test).
    /// </summary>
    private sealed class AnyPrecisionAccess
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private readonly AnyPrecisionAdamW _optimizer;
        private readonly System.Collections.IDictionary _state;
        private readonly MethodInfo _getState;

        public AnyPrecisionAccess(AnyPrecisionAdamW optimizer, IReadOnlyList<string> names)
        {
            _optimizer = optimizer;
            if (optimizer.Parameters.Count != names.Count)
                throw new ArgumentException($"the optimizer holds {optimizer.Parameters.Count} parameters but {names.Count} names were given.", nameof(names));
            _state = (System.Collections.IDictionary)(typeof(AnyPrecisionAdamW).GetField("_state", Private)?.GetValue(optimizer)
                ?? throw new InvalidOperationException("AnyPrecisionAdamW has no _state field (its internals changed)."));
            _getState = typeof(AnyPrecisionAdamW).GetMethod("GetState", Private)
                ?? throw new InvalidOperationException("AnyPrecisionAdamW has no GetState method (its internals changed).");
        }

        private object State(int i) => _getState.Invoke(_optimizer, [_optimizer.Parameters[i]])!;

        public (long Step, Tensor ExpAvg, Tensor ExpAvgSq, Tensor? Compensation) Get(int i)
        {
            var s = State(i);
            var t = s.GetType();
            return ((long)t.GetField("Step")!.GetValue(s)!, (Tensor)t.GetProperty("ExpAvg")!.GetValue(s)!,
                (Tensor)t.GetProperty("ExpAvgSq")!.GetValue(s)!, (Tensor?)t.GetProperty("Compensation")!.GetValue(s));
        }

        public void SetStep(int i, long step)
        {
            var s = State(i);
            s.GetType().GetField("Step")!.SetValue(s, step);
        }
    }
}
