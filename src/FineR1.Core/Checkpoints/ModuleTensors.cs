using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>A module's state-dict entry and the group of names that share its memory.</summary>
/// <param name="Name">State-dict name, e.g. <c>lm_head.weight</c>.</param>
/// <param name="Tensor">The live parameter or buffer (not a copy).</param>
/// <param name="Group">Index of its sharing group: names with the same group index are one tensor (tied weights).</param>
internal sealed record ModuleTensor(string Name, Tensor Tensor, int Group);

/// <summary>
/// Lists a module's state dict (parameters and persistent buffers, in module order) and finds tied weights
/// generically: two names are tied when they are the same tensor object, the same native tensor, or (on CPU) views
/// of the same memory with the same dtype and shape. Nothing about Qwen's <c>lm_head</c> is hard-coded.
/// </summary>
internal static class ModuleTensors
{
    internal static List<ModuleTensor> Collect(nn.Module module)
    {
        var result = new List<ModuleTensor>();
        var groupsByKey = new Dictionary<object, int>();
        int nextGroup = 0;
        foreach (var (name, tensor) in module.state_dict())
        {
            int group = -1;
            foreach (var key in IdentityKeys(tensor))
                if (groupsByKey.TryGetValue(key, out var g)) { group = g; break; }
            if (group < 0) group = nextGroup++;
            foreach (var key in IdentityKeys(tensor)) groupsByKey.TryAdd(key, group);
            result.Add(new ModuleTensor(name, tensor, group));
        }
        return result;
    }

    private static IEnumerable<object> IdentityKeys(Tensor tensor)
    {
        yield return new ReferenceKey(tensor);
        yield return ("handle", tensor.Handle);
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            long bytes = TensorMemory.ByteSize(tensor);
            if (bytes > 0 && bytes <= int.MaxValue)
            {
                nint address;
                unsafe { address = (nint)Unsafe.AsPointer(ref tensor.bytes.GetPinnableReference()); }
                yield return ("cpu", address, tensor.dtype, string.Join(",", tensor.shape));
            }
        }
    }

    /// <summary>Compares tensors by object identity.</summary>
    private sealed class ReferenceKey(Tensor tensor)
    {
        private readonly Tensor _tensor = tensor;
        public override bool Equals(object? obj) => obj is ReferenceKey other && ReferenceEquals(other._tensor, _tensor);
        public override int GetHashCode() => RuntimeHelpers.GetHashCode(_tensor);
    }
}
