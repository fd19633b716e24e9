namespace FineR1.Inference.Evaluation;

/// <summary>The per-record scores of spec §6.3 and §6.4 (reference: <c>eval/evaluation.py</c>).</summary>
public static class Metrics
{
    /// <summary>
    /// Closed-world correctness: an answer was extracted and
    /// <c>gt.lower().replace("_"," ") in ans.lower().replace("_"," ")</c> (substring containment, so an answer naming
    /// several options counts as correct, as in the reference).
    /// </summary>
    public static bool ClosedWorldCorrect(string output, string groundTruth)
    {
        var answer = AnswerExtractor.Extract(output);
        if (answer is null) return false;
        return Canon(answer).Contains(Canon(groundTruth), StringComparison.Ordinal);
    }

    /// <summary>
    /// Open-world text inclusion on <c>base</c> (the extracted answer or the whole output). Car rule (domain
    /// <c>car</c>): drop the last two words of the ground truth (body type and year) — <c>"Ferrari 458 Italia
    /// Convertible 2012"</c> → <c>"ferrari 458 italia"</c> — and test containment in <c>base.lower()</c>. Otherwise
    /// <c>gt.lower().replace("_"," ") in base.lower()</c> (note: <c>_</c> is NOT replaced in <c>base</c> here).
    /// </summary>
    public static bool TextInclusionCorrect(string output, string groundTruth, bool isCarDomain)
    {
        string baseText = AnswerExtractor.OpenWorldBase(output).ToLowerInvariant();
        string needle;
        if (isCarDomain)
        {
            // Python: " ".join(gt.lower().split()[:-2]); a ground truth of ≤ 2 words gives "" (always contained).
            var words = groundTruth.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            needle = string.Join(' ', words.Take(Math.Max(0, words.Length - 2)));
        }
        else needle = Canon(groundTruth);
        return baseText.Contains(needle, StringComparison.Ordinal);
    }

    /// <summary>
    /// Relative semantic similarity (paper Eq. 5): <c>max(0, (Sim(pred, gt) − Sim(super, gt)) / (1 − Sim(super, gt)))</c>
    /// from cosine similarities. Returns 0 when <c>Sim(super, gt) = 1</c> (the anchor equals the ground truth).
    /// </summary>
    public static double RelativeSimilarity(double simPredGt, double simSuperGt)
    {
        double denominator = 1.0 - simSuperGt;
        if (denominator == 0) return 0;
        return Math.Max(0.0, (simPredGt - simSuperGt) / denominator);
    }

    private static string Canon(string s) => s.ToLowerInvariant().Replace('_', ' ');
}
