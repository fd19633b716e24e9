namespace FineR1.Core.Generation;

/// <summary>
/// How <see cref="SequenceGenerator"/> picks tokens, mirroring the HF <c>GenerationConfig</c> fields of the same meaning.
/// Every property validates its value when set and throws an <see cref="ArgumentException"/> (or
/// <see cref="ArgumentOutOfRangeException"/>) naming the property.
/// </summary>
/// <example>
/// TAPO rollouts (vLLM temperature 1.0, top_p 0.99, top_k -1, image pad banned):
/// <code>
/// var rollout = new GenerationOptions
/// {
///     MaxNewTokens = 2048, DoSample = true, Temperature = 1.0, TopP = 0.99, Seed = 1,
///     BannedTokenIds = [GenerationOptions.QwenImagePadTokenId],
/// };
/// </code>
/// Evaluation: <c>new GenerationOptions { MaxNewTokens = 2048 }</c> (greedy).
/// </example>
public sealed record GenerationOptions
{
    /// <summary><c>&lt;|im_end|&gt;</c>, the end of a chat turn (151645).</summary>
    public const long QwenImEndTokenId = 151645;
    /// <summary><c>&lt;|endoftext|&gt;</c> (151643), also Qwen's pad token.</summary>
    public const long QwenEndOfTextTokenId = 151643;
    /// <summary><c>&lt;|image_pad|&gt;</c> (151655), banned during TAPO rollouts.</summary>
    public const long QwenImagePadTokenId = 151655;

    /// <summary>Most tokens generated per row (HF <c>max_new_tokens</c>); at least 1. Default 256.</summary>
    public int MaxNewTokens
    {
        get;
        init => field = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), value, "MaxNewTokens must be at least 1.");
    } = 256;

    /// <summary>Sample from the processed distribution (true) or take the argmax (false, greedy; the default).
    /// Temperature, TopK and TopP only act when sampling, as in HF.</summary>
    public bool DoSample { get; init; }

    /// <summary>Logits are divided by it before top-k/top-p (HF <c>TemperatureLogitsWarper</c>); finite and &gt; 0.
    /// Default 1. For greedy decoding set <see cref="DoSample"/> to false rather than a zero temperature.</summary>
    public double Temperature
    {
        get;
        init => field = double.IsFinite(value) && value > 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(Temperature), value,
                "Temperature must be a finite number > 0 (use DoSample = false for greedy decoding).");
    } = 1.0;

    /// <summary>Keep only the <c>TopK</c> highest logits (ties with the k-th are kept, as in HF); 0 disables (default).</summary>
    public int TopK
    {
        get;
        init => field = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(TopK), value, "TopK must be >= 0 (0 disables top-k).");
    }

    /// <summary>Nucleus sampling threshold in [0, 1] (HF <c>TopPLogitsWarper</c>, at least one token always kept);
    /// 1 disables (default).</summary>
    public double TopP
    {
        get;
        init => field = value is >= 0 and <= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(TopP), value, "TopP must be within [0, 1] (1 disables top-p).");
    } = 1.0;

    /// <summary>HF <c>repetition_penalty</c> over the prompt and the tokens generated so far; finite and &gt; 0,
    /// 1 disables (default). Qwen2.5-VL-Instruct's own generation_config sets 1.05.</summary>
    public double RepetitionPenalty
    {
        get;
        init => field = double.IsFinite(value) && value > 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), value, "RepetitionPenalty must be a finite number > 0.");
    } = 1.0;

    /// <summary>Seed of the <c>torch.Generator</c> (on the model's device) used for sampling. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>A row is finished after emitting any of these (the stop token is part of its response).
    /// Default <c>&lt;|im_end|&gt;</c> and <c>&lt;|endoftext|&gt;</c>; may be empty (only the length limit stops).</summary>
    public IReadOnlyList<long> StopTokenIds
    {
        get;
        init => field = CheckIds(value, nameof(StopTokenIds));
    } = [QwenImEndTokenId, QwenEndOfTextTokenId];

    /// <summary>Tokens that can never be generated: their logits become -inf before anything else
    /// (TAPO bans <see cref="QwenImagePadTokenId"/>). Default none. Each id must be below the model's vocabulary size.</summary>
    public IReadOnlyList<long> BannedTokenIds
    {
        get;
        init => field = CheckIds(value, nameof(BannedTokenIds));
    } = [];

    /// <summary>Token written after a row has finished (HF <c>pad_token_id</c>); also the default left-padding id of
    /// <see cref="GenerationInputs.LeftPad"/>. Default <c>&lt;|endoftext|&gt;</c> (Qwen's pad token).</summary>
    public long PadTokenId
    {
        get;
        init => field = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(PadTokenId), value, "PadTokenId must be >= 0.");
    } = QwenEndOfTextTokenId;

    private static long[] CheckIds(IReadOnlyList<long>? ids, string name)
    {
        ArgumentNullException.ThrowIfNull(ids, name);
        foreach (var id in ids)
            if (id < 0) throw new ArgumentOutOfRangeException(name, id, $"{name} contains the negative token id {id}.");
        return [.. ids];
    }

    /// <summary>Throws when an id in <see cref="BannedTokenIds"/> or <see cref="PadTokenId"/> is outside a vocabulary
    /// of <paramref name="vocabSize"/> entries. (Stop ids outside it are allowed: they simply never occur.)</summary>
    /// <exception cref="ArgumentException">An id is &gt;= <paramref name="vocabSize"/>.</exception>
    public void ValidateFor(long vocabSize)
    {
        foreach (var id in BannedTokenIds)
            if (id >= vocabSize)
                throw new ArgumentException($"BannedTokenIds contains {id}, outside the model's vocabulary of {vocabSize} tokens.", nameof(BannedTokenIds));
        // Finished rows feed the pad token back into the model, so it must have an embedding.
        if (PadTokenId >= vocabSize)
            throw new ArgumentException($"PadTokenId {PadTokenId} is outside the model's vocabulary of {vocabSize} tokens.", nameof(PadTokenId));
    }
}
