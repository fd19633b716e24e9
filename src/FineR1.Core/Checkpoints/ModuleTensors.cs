using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
        // Same storage, offset, shape, strides and dtype: the same memory whatever the managed wrapper (TorchSharp's
        // Embedding.weight getter, for one, returns a new wrapper each time). Works on every device.
        if (StoragePointer(tensor) is { } storage && storage != IntPtr.Zero)
            yield return ("storage", tensor.device.ToString(), storage, tensor.storage_offset(), tensor.dtype,
                string.Join(",", tensor.shape), string.Join(",", tensor.stride()));
        else if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
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

    /// <summary>TorchSharp's own (internal) binding of <c>tensor.storage().data_ptr()</c>, found once by reflection.
    /// The public <c>Tensor.storage&lt;T&gt;()</c> would copy BF16/F16 tensors to another dtype first.</summary>
    private static readonly Func<IntPtr, IntPtr>? StorageDataPtr = FindStorageDataPtr();

    /// <summary>True when storage pointers are available (tied weights then found on any device).</summary>
    internal static bool HasStoragePointer => StorageDataPtr is not null;

    private static Func<IntPtr, IntPtr>? FindStorageDataPtr()
    {
        try
        {
            var method = typeof(torch).Assembly.GetType("TorchSharp.PInvoke.NativeMethods")?.GetMethod("THSStorage_data_ptr",
                System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic,
                [typeof(IntPtr)]);
            return method?.ReturnType == typeof(IntPtr) ? method.CreateDelegate<Func<IntPtr, IntPtr>>() : null;
        }
        catch (Exception e) when (e is ArgumentException or MemberAccessException or InvalidOperationException)
        {
            return null;
        }
    }

    private static IntPtr? StoragePointer(Tensor tensor)
    {
        if (StorageDataPtr is null || tensor.NumberOfElements == 0) return null;
        try { return StorageDataPtr(tensor.Handle); }
        catch (Exception e) when (e is EntryPointNotFoundException or MarshalDirectiveException) { return null; }
    }

    /// <summary>Compares tensors by object identity.</summary>
    private sealed class ReferenceKey(Tensor tensor)
    {
        private readonly Tensor _tensor = tensor;
        public override bool Equals(object? obj) => obj is ReferenceKey other && ReferenceEquals(other._tensor, _tensor);
        public override int GetHashCode() => RuntimeHelpers.GetHashCode(_tensor);
    }
}
