using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Text;

/// <summary>
/// What every decoder layer of one forward shares: the merged rotary angles, the attention mask and the KV cache.
/// Built once per forward by <see cref="Qwen2_5_VLTextModel"/>.
/// </summary>
/// <param name="Cos">Merged cos, <c>[B, 1, T, head_dim]</c> (see <see cref="MultimodalRotary.MergeSections"/>).</param>
/// <param name="Sin">Merged sin, <c>[B, 1, T, head_dim]</c>.</param>
/// <param name="Mask">Boolean mask <c>[B, 1, T, S]</c> (true = may attend), or null (see <paramref name="IsCausal"/>).</param>
/// <param name="IsCausal">With no mask: true = plain causal attention (no cached tokens), false = attend to every key.</param>
/// <param name="Cache">KV cache, or null to attend only within this forward.</param>
public sealed record DecoderContext(Tensor Cos, Tensor Sin, Tensor? Mask, bool IsCausal, KvCache? Cache);
