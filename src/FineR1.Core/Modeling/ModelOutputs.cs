using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>Output of <see cref="Qwen2_5_VLModel.forward"/> (HF <c>Qwen2_5_VLModelOutputWithPast</c>, minus the cache).</summary>
/// <param name="LastHiddenState">Decoder output after the final norm, <c>[B, T, hidden]</c>.</param>
/// <param name="RopeDeltas">M-RoPE decode offsets <c>[B, 1]</c> when this forward computed the positions (prefill), else null.</param>
public sealed record Qwen2_5_VLModelOutput(Tensor LastHiddenState, Tensor? RopeDeltas);

/// <summary>Output of <see cref="Qwen2_5_VLForConditionalGeneration.forward"/> (HF <c>Qwen2_5_VLCausalLMOutputWithPast</c>).</summary>
/// <param name="Logits">Next-token logits <c>[B, T, vocab]</c> in the model dtype (only the last <c>logitsToKeep</c>
/// positions when that was set).</param>
/// <param name="Loss">Causal-LM loss (float32 scalar) when labels were given, else null.</param>
/// <param name="RopeDeltas">M-RoPE decode offsets <c>[B, 1]</c> when this forward computed the positions, else null.</param>
public sealed record CausalLMOutput(Tensor Logits, Tensor? Loss, Tensor? RopeDeltas);
