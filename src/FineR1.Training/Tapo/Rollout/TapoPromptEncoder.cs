using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Data;
using FineR1.Training.Tapo.Data;

namespace FineR1.Training.Tapo.Rollout;

/// <summary>
/// Turns <see cref="TapoSample"/>s into model inputs as the reference does (docs/method.md §3.2, §5.3, §10 items 1–2): the user
/// turn is <see cref="FineR1Prompts.TapoFormatPrompt"/> of the problem with the image at its <c>&lt;image&gt;</c>
/// placeholder, no system message (the template inserts Qwen's default, docs/method.md §9 item 9), generation prompt appended;
/// the image-pad count comes from the anchor's grid.
/// </summary>
public sealed class TapoPromptEncoder
{
    private readonly QwenChatTemplate _template;

    /// <summary>Creates the encoder.</summary>
    /// <param name="tokenizer">The Qwen tokenizer.</param>
    /// <param name="processor">Image processor (default: the checkpoint's limits, 3,136 … 12,845,056 px).</param>
    /// <param name="preScaling">Pixel-budget resize before the processor. Default: EasyR1's RL limits
    /// (<see cref="ImagePreScaling.Tapo"/>, 200,704 … 1,003,520 px) when <paramref name="processor"/> is null, none when a
    /// processor is given (its own limits then decide).</param>
    public TapoPromptEncoder(QwenTokenizer tokenizer, Qwen2VLImageProcessor? processor = null, ImagePreScaling? preScaling = null)
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Processor = processor ?? new Qwen2VLImageProcessor();
        PreScaling = preScaling ?? (processor is null ? ImagePreScaling.Tapo : null);
        _template = new QwenChatTemplate(tokenizer, Processor.Options.MergeSize);
    }

    /// <summary>The pixel-budget resize applied to the three images before the processor (null: none).</summary>
    public ImagePreScaling? PreScaling { get; }

    /// <summary>The tokenizer (also used to decode responses for the reward).</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>The image processor.</summary>
    public Qwen2VLImageProcessor Processor { get; }

    /// <summary>The chat's only message: <see cref="FineR1Prompts.TapoFormatPrompt"/> of the problem, the image at its placeholder.</summary>
    public static ChatMessage UserMessage(string problem, ImageContent image) =>
        ChatMessage.WithImagePlaceholders("user", FineR1Prompts.TapoFormatPrompt(problem), [image]);

    /// <summary>Encodes <paramref name="sample"/> under group uid <paramref name="groupId"/>.</summary>
    /// <exception cref="ArgumentException">The problem does not hold exactly one <c>&lt;image&gt;</c> placeholder, or
    /// the three images do not share one patch grid (build samples with <see cref="TapoSample.Create"/>).</exception>
    public PreparedTapoPrompt Encode(TapoSample sample, string groupId)
    {
        ArgumentNullException.ThrowIfNull(sample);
        RgbImage Scaled(RgbImage image) => PreScaling is null ? image : PreScaling.Apply(image);
        using var processed = Processor.Process(Scaled(sample.Anchor), Scaled(sample.Positive), Scaled(sample.Negative));
        var grids = processed.Grids;
        if (grids[1] != grids[0] || grids[2] != grids[0])
            throw new ArgumentException($"sample '{sample.Id}': anchor, positive and negative have different patch grids ({grids[0]}, {grids[1]}, {grids[2]}); resize them to the anchor's size.", nameof(sample));
        var g = grids[0];
        var ids = _template.Encode([UserMessage(sample.Problem, new ImageContent(g.T, g.H, g.W))], addGenerationPrompt: true).InputIds.Select(i => (long)i).ToArray();
        long patches = g.PatchCount;
        var pixels = processed.PixelValues;
        return new PreparedTapoPrompt(groupId, ids, [g.T, g.H, g.W],
            pixels.narrow(0, 0, patches).clone(), pixels.narrow(0, patches, patches).clone(), pixels.narrow(0, 2 * patches, patches).clone(),
            sample.Answer);
    }
}
