namespace FineR1.Inference.Classification;

/// <summary>One image to classify.</summary>
/// <param name="ImagePath">The image file.</param>
/// <param name="Question">The question (e.g. "What is the name of the bird in the photo?"); null = <see cref="ClassifierOptions.DefaultQuestion"/>.</param>
/// <param name="Candidates">Closed world: the options shown to the model (at least one, distinct). Null: open world (free answer).</param>
public sealed record ClassificationRequest(string ImagePath, string? Question = null, IReadOnlyList<string>? Candidates = null)
{
    /// <summary>True when candidates are given.</summary>
    public bool IsClosedWorld => Candidates is not null;
}
