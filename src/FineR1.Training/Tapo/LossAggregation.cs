namespace FineR1.Training.Tapo;

/// <summary>
/// How token losses are averaged (reference <c>loss_avg_mode</c>; docs/method.md §5.5 <c>average_loss</c>). Fine-R1 trains with
/// <see cref="Token"/>.
/// </summary>
public enum LossAggregation
{
    /// <summary><c>"token"</c>: <c>Σ(values·mask) / (Σmask + ε)</c> over every token of the (micro-)batch.</summary>
    Token,

    /// <summary><c>"seq"</c>: mean over rows of <c>Σₜ(values·mask) / (Σₜmask + ε)</c>.</summary>
    Seq,
}

/// <summary>Reference spellings of <see cref="LossAggregation"/>.</summary>
public static class LossAggregationNames
{
    /// <summary>Parses <c>"token"</c> or <c>"seq"</c>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static LossAggregation Parse(string name) => name switch
    {
        "token" => LossAggregation.Token,
        "seq" => LossAggregation.Seq,
        _ => throw new ArgumentException($"Unknown loss averaging mode '{name}' (expected token or seq).", nameof(name)),
    };
}
