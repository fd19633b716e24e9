using FineR1.Core.Imaging;
using FineR1.Core.Processing;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Tapo.Data;

namespace FineR1.Training.Tapo.Rollout;

/// <summary>
/// Turns <see cref="TapoSample"/>s into model inputs over <see cref="Qwen2_5_VLProcessor"/> as the reference does
/// (docs/method.md §3.2, §5.3, §10 items 1–2): the user turn is <see cref="FineR1Prompts.TapoFormatPrompt"/> of the
/// problem with the image at its <c>&lt;image&gt;</c> placeholder, no system message (the template inserts Qwen's
/// default, docs/method.md §9 item 9), generation prompt appended; the three images are processed together and the
/// image-pad count comes from the anchor's grid, which the positive and negative share.
/// </summary>
public sealed class TapoPromptEncoder
{
    /// <summary>Creates the encoder with TAPO's image settings: the checkpoint's processor limits (3,136 … 12,845,056 px)
    /// after EasyR1's pixel budget (<see cref="ImagePreScaling.Tapo"/>, 200,704 … 1,003,520 px).</summary>
    /// <param name="tokenizer">The Qwen tokenizer.</param>
    public TapoPromptEncoder(QwenTokenizer tokenizer)
        : this(new Qwen2_5_VLProcessor(tokenizer, preScaling: ImagePreScaling.Tapo)) { }

    /// <summary>Creates the encoder over a processor (its image limits and pre-scaling decide the grids).</summary>
    public TapoPromptEncoder(Qwen2_5_VLProcessor processor) =>
        Processor = processor ?? throw new ArgumentNullException(nameof(processor));

    /// <summary>The processor.</summary>
    public Qwen2_5_VLProcessor Processor { get; }

    /// <summary>The tokenizer (also used to decode responses for the reward).</summary>
    public QwenTokenizer Tokenizer => Processor.Tokenizer;

    /// <summary>The chat's only message: <see cref="FineR1Prompts.TapoFormatPrompt"/> of the problem, the image at its placeholder.</summary>
    public static ChatMessage UserMessage(string problem, ImageContent image) =>
        ChatMessage.WithImagePlaceholders("user", FineR1Prompts.TapoFormatPrompt(problem), [image]);

    /// <summary>Encodes <paramref name="sample"/> under group uid <paramref name="groupId"/>.</summary>
    /// <exception cref="ArgumentException">The problem does not hold exactly one <c>&lt;image&gt;</c> placeholder, or
    /// the three images do not share one patch grid (build samples with <see cref="TapoSample.Create"/>).</exception>
    public PreparedTapoPrompt Encode(TapoSample sample, string groupId)
    {
        ArgumentNullException.ThrowIfNull(sample);
        using var processed = Processor.ProcessImages([ImageInput.FromImage(sample.Anchor, $"sample '{sample.Id}' anchor"),
            ImageInput.FromImage(sample.Positive, $"sample '{sample.Id}' positive"), ImageInput.FromImage(sample.Negative, $"sample '{sample.Id}' negative")]);
        var grids = processed.Grids;
        if (grids[1] != grids[0] || grids[2] != grids[0])
            throw new ArgumentException($"sample '{sample.Id}': anchor, positive and negative have different patch grids ({grids[0]}, {grids[1]}, {grids[2]}); resize them to the anchor's size.", nameof(sample));
        var g = grids[0];
        var ids = Processor.Encode([UserMessage(sample.Problem, new ImageContent())], [g], addGenerationPrompt: true).InputIds.Select(i => (long)i).ToArray();
        long patches = g.PatchCount;
        var pixels = processed.PixelValues;
        return new PreparedTapoPrompt(groupId, ids, g,
            pixels.narrow(0, 0, patches).clone(), pixels.narrow(0, patches, patches).clone(), pixels.narrow(0, 2 * patches, patches).clone(),
            sample.Answer);
    }
}
