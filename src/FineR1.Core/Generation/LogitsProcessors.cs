using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// The HF transformers logits processors and warpers that <see cref="GenerationOptions"/> can switch on, with HF's exact
/// semantics. Every function takes scores <c>[B, vocab]</c> and returns new scores; removed tokens get -inf.
/// <see cref="Process"/> applies them in HF's order: repetition penalty, banned tokens, then (sampling only)
/// temperature → top-k → top-p.
/// </summary>
public static class LogitsProcessors
{
    /// <summary>
    /// HF <c>RepetitionPenaltyLogitsProcessor</c>: every token that occurs in <paramref name="previousIds"/> has its
    /// score divided by <paramref name="penalty"/> when positive and multiplied by it when negative.
    /// </summary>
    /// <example>Scores <c>[2, -2, 1]</c>, previous ids <c>[0, 1]</c>, penalty 2 → <c>[1, -4, 1]</c>.</example>
    /// <param name="scores"><c>[B, vocab]</c></param>
    /// <param name="previousIds">Prompt (padding included, as HF does) and generated ids, <c>[B, L]</c> int64.</param>
    /// <param name="penalty">&gt; 0; 1 changes nothing.</param>
    public static Tensor RepetitionPenalty(Tensor scores, Tensor previousIds, double penalty)
    {
        using var scope = NewDisposeScope();
        var seen = scores.gather(1, previousIds);                                // [B, L]
        seen = where(seen < 0, seen * penalty, seen / penalty);
        return scores.scatter(1, previousIds, seen).MoveToOuterDisposeScope();
    }

    /// <summary>Sets the scores of <paramref name="bannedIds"/> (int64 <c>[n]</c>, same device) to -inf for every row.</summary>
    public static Tensor BanTokens(Tensor scores, Tensor bannedIds) =>
        scores.index_fill(1, bannedIds, double.NegativeInfinity);

    /// <summary>HF <c>TemperatureLogitsWarper</c>: <c>scores / temperature</c>.</summary>
    public static Tensor Temperature(Tensor scores, double temperature) => scores / temperature;

    /// <summary>
    /// HF <c>TopKLogitsWarper</c> (min_tokens_to_keep = 1): scores strictly below the k-th largest become -inf, so ties
    /// with the k-th score survive.
    /// </summary>
    /// <example>Scores <c>[1, 3, 3, 2]</c>, k = 1 → <c>[-inf, 3, 3, -inf]</c>; k = 3 → <c>[-inf, 3, 3, 2]</c>.</example>
    public static Tensor TopK(Tensor scores, int k)
    {
        using var scope = NewDisposeScope();
        long keep = Math.Min(Math.Max(k, 1), scores.shape[^1]);
        var kth = scores.topk((int)keep, dim: -1).values.narrow(-1, keep - 1, 1);    // [B, 1]
        return scores.masked_fill(scores < kth, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF <c>TopPLogitsWarper</c>: sort ascending, take the cumulative softmax, remove every token whose cumulative
    /// probability is ≤ 1 − <paramref name="topP"/>, but always keep the <paramref name="minTokensToKeep"/> most likely.
    /// </summary>
    /// <example>Probabilities <c>[0.1, 0.2, 0.3, 0.4]</c>, top_p 0.5: ascending cumulative sums are 0.1, 0.3, 0.6, 1.0;
    /// 0.1 and 0.3 are ≤ 0.5, so tokens 0 and 1 get -inf and tokens 2 and 3 remain.</example>
    public static Tensor TopP(Tensor scores, double topP, int minTokensToKeep = 1)
    {
        using var scope = NewDisposeScope();
        long vocab = scores.shape[^1];
        long keep = Math.Min(Math.Max(minTokensToKeep, 1), vocab);
        var (sorted, order) = scores.sort(dim: -1, descending: false);         // [B, vocab] ascending
        var cumulative = sorted.softmax(-1).cumsum(-1);
        var removeSorted = cumulative <= (1 - topP);
        removeSorted.narrow(-1, vocab - keep, keep).fill_(false);                // the most likely tokens stay
        var remove = removeSorted.scatter(1, order, removeSorted);             // back to vocabulary order
        return scores.masked_fill(remove, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// All processing <paramref name="options"/> asks for, in HF order, on float32 copies of <paramref name="logits"/>.
    /// Temperature, top-k and top-p only apply when <see cref="GenerationOptions.DoSample"/> is set (HF ignores them
    /// for greedy decoding).
    /// </summary>
    /// <param name="logits">Next-token logits <c>[B, vocab]</c>, any float dtype.</param>
    /// <param name="options">The switches.</param>
    /// <param name="previousIds">Ids so far <c>[B, L]</c>; needed only for a repetition penalty ≠ 1.</param>
    /// <param name="bannedIds"><see cref="GenerationOptions.BannedTokenIds"/> as an int64 tensor on the logits' device,
    /// or null when there are none.</param>
    public static Tensor Process(Tensor logits, GenerationOptions options, Tensor? previousIds = null, Tensor? bannedIds = null)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32, copy: true);
        if (options.RepetitionPenalty != 1.0)
        {
            if (previousIds is null) throw new ArgumentNullException(nameof(previousIds), "a repetition penalty needs the previous ids.");
            scores = RepetitionPenalty(scores, previousIds, options.RepetitionPenalty);
        }
        if (bannedIds is not null) scores = BanTokens(scores, bannedIds);
        if (options.DoSample)
        {
            if (options.Temperature != 1.0) scores = Temperature(scores, options.Temperature);
            if (options.TopK > 0) scores = TopK(scores, options.TopK);
            if (options.TopP < 1.0) scores = TopP(scores, options.TopP);
        }
        return scores.MoveToOuterDisposeScope();
    }

    /// <summary>Greedy: the argmax per row. Sampling: one draw per row from <c>softmax(scores)</c> by
    /// <paramref name="sampler"/> (HF <c>torch.multinomial(probs, 1)</c>). Returns int64 <c>[B]</c>.</summary>
    public static Tensor SelectTokens(Tensor processedScores, bool doSample, TokenSampler? sampler)
    {
        if (!doSample) return processedScores.argmax(-1);
        ArgumentNullException.ThrowIfNull(sampler);
        using var scope = NewDisposeScope();
        return sampler.Sample(processedScores.softmax(-1)).MoveToOuterDisposeScope();
    }
}
