using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo.Rollout;

/// <summary>
/// A <see cref="Data.TapoSample"/> ready for the model: prompt token ids built once from the anchor (docs/method.md §5.8: the
/// positive and negative reuse them) and the three images' pixel values, all with the anchor's patch grid.
/// Owns its (CPU) tensors.
/// </summary>
/// <param name="GroupId">uid shared by the 2n rollouts of this prompt.</param>
/// <param name="PromptIds">Chat-templated prompt ids, image pads expanded for <paramref name="Grid"/>.</param>
/// <param name="Grid">(t, h, w) patch grid of all three images.</param>
/// <param name="Anchor">Anchor pixel values <c>[t·h·w, 1176]</c>.</param>
/// <param name="Positive">Positive pixel values, same shape.</param>
/// <param name="Negative">Negative pixel values, same shape.</param>
/// <param name="Answer">Ground truth for the reward.</param>
public sealed record PreparedTapoPrompt(string GroupId, long[] PromptIds, VisionGrid Grid, Tensor Anchor, Tensor Positive, Tensor Negative, string Answer)
    : IDisposable
{
    /// <summary>Pixel values of <paramref name="image"/>.</summary>
    public Tensor Pixels(TripletImage image) => image switch
    {
        TripletImage.Anchor => Anchor,
        TripletImage.Positive => Positive,
        TripletImage.Negative => Negative,
        _ => throw new ArgumentOutOfRangeException(nameof(image), image, null),
    };

    /// <summary>The generation prompt of this prompt with <paramref name="image"/> (the prompt ids stay the anchor's).</summary>
    public GenerationPrompt ToGenerationPrompt(TripletImage image) => new(PromptIds, [new PromptImage(Pixels(image), Grid)]);

    /// <inheritdoc />
    public void Dispose()
    {
        Anchor.Dispose(); Positive.Dispose(); Negative.Dispose();
    }
}
