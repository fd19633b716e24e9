namespace FineR1.Core.Checkpoints;

/// <summary>What <see cref="CheckpointLoader.Load(TorchSharp.torch.nn.Module, string, CheckpointLoadOptions?)"/> did.</summary>
/// <param name="Source">The folder or file loaded.</param>
/// <param name="Files">The safetensors files read (one, or every shard).</param>
/// <param name="Loaded">Module tensor name → checkpoint name it was read from (they differ for 4.x spellings).</param>
/// <param name="Tied">Module tensor name → the module name it shares memory with and got its values through
/// (e.g. <c>lm_head.weight</c> → <c>model.language_model.embed_tokens.weight</c>).</param>
/// <param name="Missing">Module tensors the checkpoint lacks (allowed by the options; they keep their values).</param>
/// <param name="Unexpected">Checkpoint tensors with no module counterpart (allowed by the options; skipped).</param>
/// <param name="TiedDuplicates">Checkpoint tensors not read because the module tensor they belong to shares memory
/// with one read already (a checkpoint that stores both <c>embed_tokens</c> and a tied <c>lm_head</c>).</param>
/// <param name="BytesRead">Tensor bytes read from disk.</param>
/// <param name="Elapsed">Wall time of the load.</param>
public sealed record CheckpointLoadReport(
    string Source,
    IReadOnlyList<string> Files,
    IReadOnlyDictionary<string, string> Loaded,
    IReadOnlyDictionary<string, string> Tied,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> TiedDuplicates,
    long BytesRead,
    TimeSpan Elapsed)
{
    /// <summary>Read throughput in GB/s (10⁹ bytes).</summary>
    public double GigabytesPerSecond => Elapsed.TotalSeconds > 0 ? BytesRead / 1e9 / Elapsed.TotalSeconds : 0;

    /// <summary>True when every module tensor was loaded or tied and nothing in the checkpoint was left over.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0;
}
