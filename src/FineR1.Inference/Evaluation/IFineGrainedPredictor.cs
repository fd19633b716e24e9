namespace FineR1.Inference.Evaluation;

/// <summary>One model call: an image and the full user prompt (the image goes first in the user turn).</summary>
/// <param name="ImagePath">Resolved path of the image file.</param>
/// <param name="Prompt">Text of <see cref="FineR1.Core.Text.Prompts.FineR1Prompts.ClosedWorld"/> or <see cref="FineR1.Core.Text.Prompts.FineR1Prompts.OpenWorld"/>.</param>
public sealed record PredictionRequest(string ImagePath, string Prompt);

/// <summary>
/// The model under evaluation: returns the raw generated text (with its <c>&lt;think&gt;</c>/<c>&lt;answer&gt;</c> tags)
/// for each request. The reference decodes greedily with <c>max_new_tokens=2048</c>, batch size 2, left padding.
/// </summary>
public interface IFineGrainedPredictor
{
    /// <summary>One output per request, in order.</summary>
    Task<IReadOnlyList<string>> PredictAsync(IReadOnlyList<PredictionRequest> requests, CancellationToken cancellationToken);
}
