namespace FineR1.Experiments.Pretraining;

/// <summary>
/// One language-modelling example: token ids, unshifted labels (<c>-100</c> = not supervised) and at most one image,
/// whose <c>&lt;|image_pad|&gt;</c> slots are already expanded in <see cref="InputIds"/>.
/// </summary>
/// <param name="InputIds">Token ids.</param>
/// <param name="Labels">Labels aligned with <paramref name="InputIds"/> (the trainer shifts them).</param>
/// <param name="ImagePath">The image, or null for text only.</param>
public sealed record LmExample(int[] InputIds, long[] Labels, string? ImagePath)
{
    /// <summary>Tokens whose next token is supervised.</summary>
    public int SupervisedTokens => Labels.Skip(1).Count(l => l != FineR1.Core.Modeling.LanguageModelLoss.IgnoreIndex);
}
