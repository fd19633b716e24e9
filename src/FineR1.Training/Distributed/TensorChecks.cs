using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>Argument checks shared by the communicators: collectives work on whole contiguous buffers.</summary>
internal static class TensorChecks
{
    public static void RequireContiguous(Tensor tensor, string name)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (!tensor.is_contiguous())
            throw new ArgumentException($"{name} must be contiguous (collectives read and write it as one flat buffer).", name);
    }

    /// <summary><paramref name="whole"/> holds <paramref name="worldSize"/> blocks of <paramref name="block"/>'s size, same dtype.</summary>
    public static void RequireScatterShapes(Tensor whole, Tensor block, int worldSize)
    {
        RequireContiguous(whole, nameof(whole));
        RequireContiguous(block, nameof(block));
        if (whole.dtype != block.dtype)
            throw new ArgumentException($"the tensors have different dtypes ({whole.dtype}, {block.dtype}).");
        if (whole.NumberOfElements != block.NumberOfElements * worldSize)
            throw new ArgumentException(
                $"the full buffer has {whole.NumberOfElements} elements; it must be the world size ({worldSize}) × the shard ({block.NumberOfElements}).");
    }
}
