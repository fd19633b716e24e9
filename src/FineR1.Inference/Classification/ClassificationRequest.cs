using FineR1.Core.Imaging;

namespace FineR1.Inference.Classification;

/// <summary>One image to classify.</summary>
/// <param name="Image">The image: a file path (a string converts implicitly), or <see cref="ImageInput.FromStream"/>,
/// <see cref="ImageInput.FromBytes"/>, <see cref="ImageInput.FromBitmap"/>.</param>
/// <param name="Question">The question (e.g. "What is the name of the bird in the photo?"); null = <see cref="ClassifierOptions.DefaultQuestion"/>.</param>
/// <param name="Candidates">Closed world: the options shown to the model (at least one, distinct). Null: open world (free answer).</param>
public sealed record ClassificationRequest(ImageInput Image, string? Question = null, IReadOnlyList<string>? Candidates = null)
{
    /// <summary>The image file, when the image comes from a file; null for in-memory images.</summary>
    public string? ImagePath => Image.Path;

    /// <summary>True when candidates are given.</summary>
    public bool IsClosedWorld => Candidates is not null;
}
