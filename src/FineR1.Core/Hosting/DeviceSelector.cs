using System.Text.RegularExpressions;
using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Hosting;

/// <summary>Turns the textual device and dtype options into TorchSharp values.</summary>
public static partial class DeviceSelector
{
    [GeneratedRegex("^(auto|cpu|cuda(:[0-9]+)?)$")]
    private static partial Regex DeviceSpec();

    /// <summary>True for <c>auto</c>, <c>cpu</c>, <c>cuda</c> and <c>cuda:N</c>.</summary>
    public static bool IsValidSpec(string spec) => DeviceSpec().IsMatch(spec);

    /// <summary>The device for a spec; <c>auto</c> picks CUDA when TorchSharp sees a GPU.</summary>
    public static Device Resolve(string spec)
    {
        TorchSharpNativeLoader.EnsureInstalled();
        if (spec == "auto") return cuda.is_available() ? CUDA : CPU;
        return new Device(spec);
    }

    /// <summary>The weight dtype for a spec on a device; <c>auto</c> is bfloat16 on CUDA and float32 on CPU.</summary>
    public static ScalarType ResolveDType(string spec, Device device) => spec switch
    {
        "auto" => device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new ArgumentException($"unknown dtype '{spec}'."),
    };
}
