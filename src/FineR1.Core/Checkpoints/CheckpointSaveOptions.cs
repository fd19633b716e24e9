using FineR1.Core.Configuration;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>How <see cref="CheckpointWriter"/> writes a model folder.</summary>
public sealed record CheckpointSaveOptions
{
    /// <summary>transformers' default <c>max_shard_size</c> of "5GB" (decimal, as transformers counts).</summary>
    public const long DefaultMaxShardSize = 5_000_000_000;

    /// <summary>Largest shard in bytes; a bigger checkpoint is split into <c>model-0000i-of-0000n.safetensors</c>
    /// files plus <c>model.safetensors.index.json</c>. A single tensor larger than this gets a shard of its own.</summary>
    public long MaxShardSize { get; init; } = DefaultMaxShardSize;

    /// <summary>Name spelling to write. Default <see cref="CheckpointKeyStyle.Transformers4"/>: what transformers
    /// 4.x and 5.x <c>save_pretrained</c> write and the Hub checkpoints use, so every transformers version loads it.</summary>
    public CheckpointKeyStyle KeyStyle { get; init; } = CheckpointKeyStyle.Transformers4;

    /// <summary>Store floating-point tensors in this dtype (e.g. <c>BFloat16</c>); null keeps each tensor's dtype.</summary>
    public ScalarType? DType { get; init; }

    /// <summary>When given, <c>config.json</c> is written from it (<see cref="IPretrainedConfig.ToJson"/>, e.g.
    /// <see cref="Qwen2_5_VLConfig"/>, plus the stored <c>dtype</c>).</summary>
    public IPretrainedConfig? Config { get; init; }
}
