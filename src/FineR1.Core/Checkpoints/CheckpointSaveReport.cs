namespace FineR1.Core.Checkpoints;

/// <summary>What <see cref="CheckpointWriter.Save(TorchSharp.torch.nn.Module, string, CheckpointSaveOptions?)"/> wrote.</summary>
/// <param name="Folder">The model folder.</param>
/// <param name="Files">Safetensors files written (one, or the shards in order).</param>
/// <param name="IndexPath">The index file, when sharded; otherwise null.</param>
/// <param name="WeightMap">Checkpoint name → file name it was written to.</param>
/// <param name="DroppedTied">Module names not written because they share memory with a name written earlier
/// (transformers drops a tied <c>lm_head.weight</c> the same way).</param>
/// <param name="TotalSize">Tensor bytes written (the index's <c>metadata.total_size</c>).</param>
public sealed record CheckpointSaveReport(
    string Folder,
    IReadOnlyList<string> Files,
    string? IndexPath,
    IReadOnlyDictionary<string, string> WeightMap,
    IReadOnlyList<string> DroppedTied,
    long TotalSize);
