using System.Reflection;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>
/// The address of a tensor's first element, for native libraries (NCCL) that take raw buffers. TorchSharp 0.107 has no
/// public <c>data_ptr()</c>; its own native export <c>THSTensor_data</c> returns libtorch's <c>tensor.data_ptr()</c>, which
/// includes the storage offset of a view. (<c>Storage.data_ptr()</c> does not: it is the storage base, wrong for a view,
/// and <c>tensor.storage&lt;T&gt;()</c> converts a bfloat16 tensor to another dtype first.) The export is called through
/// TorchSharp's own P/Invoke declaration, so it binds to the very <c>LibTorchSharp</c> TorchSharp loaded.
/// </summary>
public static class TensorPointers
{
    private static readonly Lazy<Func<IntPtr, IntPtr>> DataExport = new(BindDataExport);

    /// <summary>Address of element 0 of <paramref name="tensor"/> (base of its storage + storage offset × element size).</summary>
    /// <example>For <c>x = zeros(10)</c> and <c>v = x.narrow(0, 3, 4)</c>: <c>DataPointer(v) − DataPointer(x) = 3 × 4</c> bytes.</example>
    public static IntPtr DataPointer(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return DataExport.Value(tensor.Handle);
    }

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new NotSupportedException($"no element size for {type}."),
    };

    private static Func<IntPtr, IntPtr> BindDataExport()
    {
        var type = typeof(TorchSharp.torch).Assembly.GetType("TorchSharp.PInvoke.NativeMethods")
            ?? throw new PlatformNotSupportedException("TorchSharp.PInvoke.NativeMethods not found: this TorchSharp version is not supported for raw tensor pointers (tested with 0.107).");
        var method = type.GetMethod("THSTensor_data", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(IntPtr)])
            ?? throw new PlatformNotSupportedException("TorchSharp's THSTensor_data(IntPtr) binding not found (tested with TorchSharp 0.107).");
        return method.CreateDelegate<Func<IntPtr, IntPtr>>();
    }
}
