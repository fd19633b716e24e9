using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// What <see cref="SequenceGenerator"/> needs from a causal language model: open a KV-cached session for a batch of
/// prompts, run the prompt once, then feed one token per row per step. The implementation owns the cache (allocated
/// once for prompt + <c>maxNewTokens</c>), the position ids (M-RoPE for Qwen2.5-VL) and the attention mask.
/// </summary>
public interface IGenerationModel
{
    /// <summary>The device the model runs on (sampling and all per-step tensors live there).</summary>
    Device Device { get; }

    /// <summary>Number of logits per position.</summary>
    long VocabSize { get; }

    /// <summary>Starts a session for <paramref name="inputs"/> that will see at most <paramref name="maxNewTokens"/>
    /// further tokens per row (<see cref="IGenerationSession.Step"/> is called at most <c>maxNewTokens - 1</c> times).</summary>
    IGenerationSession Start(GenerationInputs inputs, int maxNewTokens);
}

/// <summary>One batch being decoded; disposing it frees its KV cache.</summary>
public interface IGenerationSession : IDisposable
{
    /// <summary>Runs the whole (left-padded) prompt, images included, and fills the cache.</summary>
    /// <returns>Logits of each row's last prompt position, <c>[B, vocab]</c>, on the model's device. The caller's dispose
    /// scope owns them.</returns>
    Tensor Prefill();

    /// <summary>Appends one token per row (position = the next cache slot, attention mask 1 there, as HF does for every
    /// row, finished or not).</summary>
    /// <param name="tokens">Token ids <c>[B]</c> (int64) on the model's device.</param>
    /// <returns>Logits for the new position, <c>[B, vocab]</c>; the caller's dispose scope owns them.</returns>
    Tensor Step(Tensor tokens);
}
