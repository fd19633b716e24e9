using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Configuration;

/// <summary>
/// The memory a model needs, estimated from its config before anything is allocated, so that a config asking for more
/// than the machine has fails with a clear <see cref="ConfigurationException"/> instead of a native abort or a raw
/// libtorch allocation error.
/// </summary>
/// <example>
/// Qwen2.5-VL-3B: <c>ParameterCount(Qwen2_5_VLConfig.Qwen2_5_VL3B)</c> = 3,754,622,976, i.e. 7.5 GB of weights in bfloat16.
/// </example>
public static class ModelMemory
{
    /// <summary>Number of parameters of <c>Qwen2_5_VLForConditionalGeneration</c> built from <paramref name="config"/>.</summary>
    public static long ParameterCount(Qwen2_5_VLConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var t = config.Text; var v = config.Vision;
        long h = t.HiddenSize, kv = (long)t.NumKeyValueHeads * t.HeadDim, inter = t.IntermediateSize, vocab = t.VocabSize;
        long attention = h * h + h + 2 * (h * kv + kv) + h * h;        // q (bias), k, v (bias), o (no bias)
        long layer = attention + 3 * h * inter + 2 * h;                 // gate, up, down; two RMSNorms
        long text = vocab * h + t.NumHiddenLayers * layer + h + (t.TieWordEmbeddings ? 0 : vocab * h);

        long vh = v.HiddenSize, vi = v.IntermediateSize;
        long patch = (long)v.InChannels * v.TemporalPatchSize * v.PatchSize * v.PatchSize * vh;
        long block = 3 * vh * vh + 3 * vh + vh * vh + vh + 3 * vh * vi + 2 * vi + vh + 2 * vh;
        long merged = vh * v.SpatialMergeSize * v.SpatialMergeSize;
        long merger = vh + merged * merged + merged + merged * v.OutHiddenSize + v.OutHiddenSize;
        return text + patch + v.Depth * block + merger;
    }

    /// <summary>Bytes of the weights in <paramref name="dtype"/>.</summary>
    public static long WeightBytes(Qwen2_5_VLConfig config, ScalarType dtype) => ParameterCount(config) * ElementSize(dtype);

    /// <summary>
    /// Throws when the weights cannot fit: on the CPU, more than the available memory (Linux <c>MemAvailable</c>, or
    /// the runtime's view of the memory limit); on CUDA, more than the device's total memory when TorchSharp reports
    /// it. <paramref name="source"/> names the config in the message.
    /// </summary>
    /// <exception cref="ConfigurationException">The model does not fit.</exception>
    public static void EnsureFits(Qwen2_5_VLConfig config, Device device, ScalarType dtype, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        long needed = WeightBytes(config, dtype);
        long? available = device.type == DeviceType.CPU ? AvailableCpuBytes() : null;
        if (available is { } a && needed > a)
            throw new ConfigurationException(
                $"the model needs {Gb(needed)} for its {ParameterCount(config):N0} parameters in {dtype}, but only {Gb(a)} of memory is available " +
                "(check hidden_size, intermediate_size, num_hidden_layers and vocab_size).", source);
    }

    /// <summary>Memory the process can still take on this machine, in bytes.</summary>
    public static long AvailableCpuBytes()
    {
        var runtime = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var kb = long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0]);
                return Math.Min(kb * 1024, runtime > 0 ? runtime : long.MaxValue);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException) { }
        return Math.Max(runtime, 0);
    }

    private static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => 4,
    };

    private static string Gb(long bytes) => $"{bytes / 1e9:F1} GB";
}
