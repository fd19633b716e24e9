namespace FineR1.Core.Text.Chat;

/// <summary>Token ids of a rendered chat and, per token, whether it is an assistant target (content + <c>&lt;|im_end|&gt;</c> + newline).</summary>
/// <param name="InputIds">The ids, [T].</param>
/// <param name="AssistantMask">True where the token is trained on in SFT, [T].</param>
public sealed record ChatEncoding(int[] InputIds, bool[] AssistantMask)
{
    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;

    /// <summary>
    /// SFT labels: the id where <see cref="AssistantMask"/> is set, <paramref name="ignoreIndex"/> elsewhere (LLaMA-Factory,
    /// <c>train_on_prompt=False</c>). Unshifted, as HF's loss shifts them itself.
    /// </summary>
    public long[] Labels(long ignoreIndex = -100)
    {
        var labels = new long[InputIds.Length];
        for (var i = 0; i < labels.Length; i++) labels[i] = AssistantMask[i] ? InputIds[i] : ignoreIndex;
        return labels;
    }
}
