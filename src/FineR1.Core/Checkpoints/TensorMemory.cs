using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>Receives one piece of a tensor's memory.</summary>
internal delegate void TensorBytesAction(Span<byte> bytes);

/// <summary>Direct access to the memory of contiguous CPU tensors, including ones over 2 GiB (a span cannot be).</summary>
internal static class TensorMemory
{
    /// <summary>Largest piece handed out at once: 1 GiB, well under a span's 2 GiB limit.</summary>
    internal const long ChunkBytes = 1L << 30;

    /// <summary>
    /// Calls <paramref name="action"/> on consecutive views of <paramref name="tensor"/>'s own memory, in order.
    /// A tensor of 2.2 GB is seen as pieces of 1 GiB, 1 GiB and the rest; an empty tensor calls nothing.
    /// </summary>
    internal static void ForEachChunk(Tensor tensor, TensorBytesAction action)
    {
        long total = tensor.NumberOfElements * tensor.ElementSize;
        if (total == 0) return;
        if (total <= int.MaxValue)
        {
            action(tensor.bytes);
            return;
        }
        long elementSize = tensor.ElementSize;
        long chunkElements = ChunkBytes / elementSize;
        using var flat = tensor.view(-1);                                      // [numel], shares memory
        for (long start = 0; start < flat.shape[0]; start += chunkElements)
        {
            using var piece = flat.narrow(0, start, Math.Min(chunkElements, flat.shape[0] - start));
            action(piece.bytes);
        }
    }

    /// <summary>Total bytes of a tensor's elements.</summary>
    internal static long ByteSize(Tensor tensor) => tensor.NumberOfElements * tensor.ElementSize;
}
