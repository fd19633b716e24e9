using FineR1.Core.Imaging;

namespace FineR1.Training.Sft;

/// <summary>
/// One tokenized SFT sequence: the chat rendered with Qwen2.5-VL's template (image-pad blocks expanded to the image's
/// token count) and unshifted labels that supervise the assistant targets only (content + <c>&lt;|im_end|&gt;\n</c>).
/// </summary>
/// <param name="RecordIndex">Index of the source record (for errors, logs and the data order).</param>
/// <param name="InputIds">Token ids <c>[T]</c>, T ≤ the configured maximum length.</param>
/// <param name="Labels">Token id where supervised, −100 elsewhere, <c>[T]</c>.</param>
/// <param name="ImagePaths">Images in prompt order.</param>
/// <param name="Grids">Their patch grids after resizing (the pad-token counts follow from them).</param>
/// <param name="Truncated">True when the end of the sequence was cut at the maximum length.</param>
public sealed record SftExample(int RecordIndex, int[] InputIds, long[] Labels, IReadOnlyList<string> ImagePaths,
    IReadOnlyList<VisionGrid> Grids, bool Truncated)
{
    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;

    /// <summary>Tokens the loss is computed on (labels after the first position that are not −100: the first position
    /// is never predicted).</summary>
    public int SupervisedTokens => Labels.Skip(1).Count(l => l != FineR1.Core.Modeling.LanguageModelLoss.IgnoreIndex);
}
