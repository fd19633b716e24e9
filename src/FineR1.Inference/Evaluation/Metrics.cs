namespace FineR1.Inference.Evaluation;

/// <summary>
/// The open-world similarity score of docs/method.md §6.4. Answer parsing and the correctness rules (closed-world containment,
/// text inclusion with the car rule, the super-category anchor) live in <c>FineR1.Core.Text.Rewards.EvaluationScoring</c>.
/// </summary>
public static class Metrics
{
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
}
