namespace FineR1.Core.Text.Rewards;

/// <summary>The correctness rules of Fine-R1's evaluation (<c>eval/evaluation.py</c>), applied to decoded outputs.</summary>
public static class EvaluationScoring
{
    /// <summary>
    /// Closed-world: correct iff the output has a non-empty answer (greedy <c>&lt;answer&gt;(.*)&lt;/answer&gt;</c>, stripped)
    /// that contains the ground truth, both lower-cased with <c>_</c> → space.
    /// </summary>
    public static bool IsClosedWorldCorrect(string output, string groundTruth)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(groundTruth);
        var answer = AnswerParsing.ExtractEvaluationAnswer(output);
        if (string.IsNullOrEmpty(answer)) return false;
        return Clean(answer).Contains(Clean(groundTruth), StringComparison.Ordinal);
    }

    /// <summary>The text open-world scoring compares: the parsed answer when non-empty, else the whole output.</summary>
    public static string OpenWorldPrediction(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var answer = AnswerParsing.ExtractEvaluationAnswer(output);
        return string.IsNullOrEmpty(answer) ? output : answer;
    }

    /// <summary>
    /// The super-category word the evaluation picks from an image path (first hit of "aircraft", "birds", "cars",
    /// "flower"; else "object"). It anchors the relative semantic similarity and turns on the car rule.
    /// With the released relative paths birds, dogs and pets all get "object" ("bird_200/…" has no "birds").
    /// </summary>
    public static string SuperCategoryFromPath(string imagePath)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        if (imagePath.Contains("aircraft", StringComparison.Ordinal)) return "aircraft";
        if (imagePath.Contains("birds", StringComparison.Ordinal)) return "bird";
        if (imagePath.Contains("cars", StringComparison.Ordinal)) return "car";
        if (imagePath.Contains("flower", StringComparison.Ordinal)) return "flower";
        return "object";
    }

    /// <summary>
    /// Open-world text inclusion. Car rule (<paramref name="superCategory"/> = "car"): the ground truth without its last
    /// two words (body type, year), lower-cased and single-spaced, must occur in the lower-cased prediction
    /// ("Ferrari 458 Italia Convertible 2012" → "ferrari 458 italia"; a name of two words or fewer matches anything, as in
    /// the reference). Otherwise the lower-cased ground truth with <c>_</c> → space must occur in the lower-cased prediction.
    /// </summary>
    public static bool IsOpenWorldTextIncluded(string output, string groundTruth, string superCategory)
    {
        ArgumentNullException.ThrowIfNull(superCategory);
        return IsOpenWorldTextIncluded(output, groundTruth, carRule: superCategory == "car");
    }

    /// <summary>
    /// Open-world text inclusion with the car rule chosen by the caller (e.g. by dataset name rather than by path):
    /// <paramref name="carRule"/> true drops the ground truth's last two words, as for the "car" super-category.
    /// </summary>
    public static bool IsOpenWorldTextIncluded(string output, string groundTruth, bool carRule)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        var prediction = PythonString.Lower(OpenWorldPrediction(output));
        if (carRule)
        {
            var words = PythonString.Split(PythonString.Lower(groundTruth));
            var model = string.Join(' ', words.Take(Math.Max(0, words.Count - 2)));
            return prediction.Contains(model, StringComparison.Ordinal);
        }
        return prediction.Contains(PythonString.Lower(groundTruth).Replace('_', ' '), StringComparison.Ordinal);
    }

    private static string Clean(string s) => PythonString.Lower(s).Replace('_', ' ');
}
