namespace FineR1.Training.Tapo;

/// <summary>
/// Which per-token KL estimator <see cref="KlDivergence.ComputeKl"/> returns (docs/method.md §5.5, reference
/// <c>core_algos.compute_kl</c>'s <c>kl_penalty</c> argument). The reference's string names are accepted by
/// <see cref="KlPenaltyNames.Parse"/>.
/// </summary>
public enum KlPenalty
{
    /// <summary><c>"kl"</c>: <c>lp − ref</c> (Schulman k1).</summary>
    Kl,

    /// <summary><c>"abs"</c>: <c>|lp − ref|</c>.</summary>
    Abs,

    /// <summary><c>"mse"</c>: <c>½ (lp − ref)²</c> (Schulman k2).</summary>
    Mse,

    /// <summary>
    /// <c>"low_var_kl"</c>: <c>d = clamp(ref − lp, −20, 20); clamp(eᵈ − d − 1, −10, 10)</c> (Schulman k3, an unbiased
    /// low-variance estimate of KL[π_lp ‖ π_ref] under samples from π_lp). TAPO's inter-class term uses this.
    /// </summary>
    LowVarKl,
}

/// <summary>The reference code's spellings of <see cref="KlPenalty"/> (<c>"kl"</c>, <c>"abs"</c>, <c>"mse"</c>, <c>"low_var_kl"</c>).</summary>
public static class KlPenaltyNames
{
    /// <summary>Parses a reference spelling; <c>"full"</c> is rejected here because it needs full-vocabulary tensors
    /// (call <see cref="KlDivergence.ComputeKlFull"/>).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static KlPenalty Parse(string name) => name switch
    {
        "kl" => KlPenalty.Kl,
        "abs" => KlPenalty.Abs,
        "mse" => KlPenalty.Mse,
        "low_var_kl" => KlPenalty.LowVarKl,
        "full" => throw new ArgumentException(
            "KL penalty 'full' works on full-vocabulary log-probs: call KlDivergence.ComputeKlFull.", nameof(name)),
        _ => throw new ArgumentException($"Unknown KL penalty '{name}' (expected kl, abs, mse or low_var_kl).", nameof(name)),
    };

    /// <summary>The reference spelling of <paramref name="penalty"/>.</summary>
    public static string ToName(this KlPenalty penalty) => penalty switch
    {
        KlPenalty.Kl => "kl",
        KlPenalty.Abs => "abs",
        KlPenalty.Mse => "mse",
        KlPenalty.LowVarKl => "low_var_kl",
        _ => throw new ArgumentOutOfRangeException(nameof(penalty)),
    };
}
