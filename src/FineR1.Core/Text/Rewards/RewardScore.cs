namespace FineR1.Core.Text.Rewards;

/// <summary>The reward of one response: the RL reward (<see cref="Overall"/>) and its two parts.</summary>
/// <param name="Overall">(1 − w)·accuracy + w·format; the scalar placed on the last response token.</param>
/// <param name="Format">1 when the response has the think/answer layout, else 0.</param>
/// <param name="Accuracy">1 when the answer contains the ground truth, else 0 (the dynamic-sampling filter key).</param>
public readonly record struct RewardScore(double Overall, double Format, double Accuracy);
