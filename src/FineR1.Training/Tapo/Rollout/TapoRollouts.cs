using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Rewards;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Training.Tapo.Rollout;

/// <summary>One sampled response and its reward.</summary>
/// <param name="Prompt">The prompt (ids, images, answer).</param>
/// <param name="Row">Group, generation image and log-prob image (<see cref="IntraClassGroups.ComposeRows"/>).</param>
/// <param name="ResponseIds">Generated ids up to and including the first stop token.</param>
/// <param name="FinishReason">Stop token or length limit.</param>
/// <param name="Score">Reward (overall, format, accuracy).</param>
public sealed record TapoRollout(PreparedTapoPrompt Prompt, RolloutRow Row, long[] ResponseIds, FinishReason FinishReason, RewardScore Score);

/// <summary>
/// Samples the rollouts of one dynamic-sampling draw (docs/method.md §5.3): n responses from (q, anchor) and n from (q, positive)
/// per prompt, ordered p0-anchor ×n, p0-positive ×n, p1-anchor ×n, … and all 2n sharing the prompt's uid; then scores
/// them with the reward (decoded with special tokens skipped, docs/method.md §5.2).
/// </summary>
public sealed class TapoRolloutEngine
{
    private readonly IGenerationModel _generator;
    private readonly TapoRolloutOptions _options;
    private readonly PositiveRolloutConditioning _conditioning;

    /// <summary>Creates the engine.</summary>
    /// <param name="model">The policy (sampling runs under no_grad through its <see cref="IVisionLanguageModel.CreateGenerationModel"/> view).</param>
    /// <param name="tokenizer">Decodes responses for the reward.</param>
    /// <param name="reward">The reward (Fine-R1: <see cref="FineR1ClassificationReward"/>).</param>
    /// <param name="options">n, temperature, top-p, top-k, max response length.</param>
    /// <param name="conditioning">Which image the positive rows' log-probs use (recorded on each row).</param>
    /// <param name="maxRowsPerGeneration">Rows generated together (memory bound); 0 = all rows of the draw at once.</param>
    public TapoRolloutEngine(IVisionLanguageModel model, QwenTokenizer tokenizer, IRewardFunction reward,
        TapoRolloutOptions options, PositiveRolloutConditioning conditioning = PositiveRolloutConditioning.GenerationImage, int maxRowsPerGeneration = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Reward = reward ?? throw new ArgumentNullException(nameof(reward));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _conditioning = conditioning;
        _generator = model.CreateGenerationModel();
        MaxRowsPerGeneration = maxRowsPerGeneration;
        ImagePadId = model.ImageTokenId;
        StopTokenIds = [tokenizer.ImEndId, tokenizer.EndOfTextId];
        PadTokenId = tokenizer.EndOfTextId;
    }

    /// <summary>Tokenizer of the responses.</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The reward.</summary>
    public IRewardFunction Reward { get; }

    /// <summary>Rows per generation call (0 = all).</summary>
    public int MaxRowsPerGeneration { get; }

    /// <summary>The banned image-pad token (vLLM <c>logit_bias {image_pad: −100}</c>).</summary>
    public long ImagePadId { get; }

    /// <summary><c>&lt;|im_end|&gt;</c>, <c>&lt;|endoftext|&gt;</c>.</summary>
    public IReadOnlyList<long> StopTokenIds { get; }

    /// <summary>Right-padding id of responses (<c>&lt;|endoftext|&gt;</c>).</summary>
    public long PadTokenId { get; }

    /// <summary>The sampling settings of a draw with <paramref name="seed"/>.</summary>
    public GenerationOptions SamplingOptions(ulong seed) => new()
    {
        DoSample = true,
        Temperature = _options.Temperature,
        TopP = _options.TopP,
        TopK = _options.TopK < 0 ? 0 : _options.TopK,
        MaxNewTokens = _options.MaxResponseLength,
        StopTokenIds = StopTokenIds,
        BannedTokenIds = [ImagePadId],
        PadTokenId = PadTokenId,
        Seed = seed,
    };

    /// <summary>Generates and scores the 2n rollouts of every prompt of a draw.</summary>
    /// <param name="prompts">The draw's prompts (distinct group uids).</param>
    /// <param name="seed">Sampling seed of this draw.</param>
    public IReadOnlyList<TapoRollout> Generate(IReadOnlyList<PreparedTapoPrompt> prompts, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var rows = IntraClassGroups.ComposeRows(prompts.Select(p => p.GroupId).ToArray(), _options.N, _conditioning);
        var options = SamplingOptions(seed);
        var sequences = new List<GeneratedSequence>(rows.Count);
        int chunk = MaxRowsPerGeneration > 0 ? MaxRowsPerGeneration : Math.Max(1, rows.Count);
        for (int start = 0, call = 0; start < rows.Count; start += chunk, call++)
        {
            var slice = rows.Skip(start).Take(chunk).Select(r => prompts[r.PromptIndex].ToGenerationPrompt(r.GeneratedFrom)).ToList();
            using var inputs = GenerationInputs.LeftPad(slice, PadTokenId, _generator.Device);
            var result = SequenceGenerator.Generate(_generator, inputs, options with { Seed = seed + (ulong)call * 7919UL });
            sequences.AddRange(result.Sequences);
        }
        var texts = sequences.Select(s => Tokenizer.Decode(s.TokenIds.Select(i => (int)i), skipSpecialTokens: true)).ToList();
        var scores = Reward.ScoreBatch(texts.Select((t, i) => (t, prompts[rows[i].PromptIndex].Answer)).ToList());
        return rows.Select((r, i) => new TapoRollout(prompts[r.PromptIndex], r, sequences[i].TokenIds, sequences[i].FinishReason, scores[i])).ToList();
    }
}
