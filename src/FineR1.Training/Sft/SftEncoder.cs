using FineR1.Core.Imaging;
using FineR1.Core.Processing;
using FineR1.Core.Text.Chat;
using FineR1.Training.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FineR1.Training.Sft;

/// <summary>
/// Turns <see cref="SftRecord"/>s into <see cref="SftExample"/>s over <see cref="Qwen2_5_VLProcessor"/>: each turn becomes
/// a chat message whose <c>&lt;image&gt;</c> placeholders become image parts (sized by the processor from the record's
/// images, pre-scaled as the processor says), the processor encodes the conversation (a missing system turn gets Qwen's
/// default, as LLaMA-Factory's <c>qwen2_vl</c> template does), and the labels keep only the assistant targets. Pixels
/// are computed per batch (<see cref="SftBatch.Collate"/>). Sequences longer than the maximum follow
/// <see cref="SftOverlongPolicy"/>; a cut is never made inside the prompt or an image-pad block.
/// </summary>
public sealed class SftEncoder
{
    private readonly Qwen2_5_VLProcessor _processor;
    private readonly int _maxLength;
    private readonly SftOverlongPolicy _overlong;
    private readonly ILogger _logger;
    private readonly int _visionEndId;

    /// <summary>Creates the encoder.</summary>
    /// <param name="processor">The processor (SFT: the checkpoint's image limits with <see cref="ImagePreScaling"/> to
    /// <see cref="SftOptions.ImageMinPixels"/> … <see cref="SftOptions.ImageMaxPixels"/>, or those limits in the image processor).</param>
    /// <param name="maxLength">Maximum tokens per sequence.</param>
    /// <param name="overlong">What to do with longer records.</param>
    /// <param name="logger">Receives a warning per dropped or truncated record.</param>
    public SftEncoder(Qwen2_5_VLProcessor processor, int maxLength, SftOverlongPolicy overlong = SftOverlongPolicy.Truncate, ILogger? logger = null)
    {
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        _maxLength = maxLength;
        _overlong = overlong;
        _logger = logger ?? NullLogger.Instance;
        _visionEndId = processor.Tokenizer.VisionEndId;
    }

    /// <summary>Encodes every record; dropped records are left out (and logged).</summary>
    /// <param name="records">The records.</param>
    /// <param name="source">The dataset file or folder, named in errors.</param>
    /// <exception cref="DatasetException">A record cannot be encoded (bad image, placeholder mismatch, overlong under
    /// <see cref="SftOverlongPolicy.Throw"/>, or a cut that would split the prompt); the message names the record index.</exception>
    public IReadOnlyList<SftExample> EncodeAll(IReadOnlyList<SftRecord> records, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var examples = new List<SftExample>(records.Count);
        foreach (var record in records)
            if (Encode(record, source) is { } example) examples.Add(example);
        if (examples.Count == 0) throw new DatasetException("no trainable record (all were dropped).", source);
        return examples;
    }

    /// <summary>Encodes one record; null when it is dropped by <see cref="SftOverlongPolicy.Drop"/>.</summary>
    /// <exception cref="DatasetException">See <see cref="EncodeAll"/>.</exception>
    public SftExample? Encode(SftRecord record, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        DatasetException Error(string message, Exception? inner = null) => new(message, source, record.Index, inner);

        var grids = new List<VisionGrid>();
        foreach (var path in record.ImagePaths)
        {
            try
            {
                grids.Add(_processor.GridOf(path));
            }
            catch (ImageProcessingException e)
            {
                throw Error($"image '{path}': {e.Message}", e);
            }
        }

        var messages = new List<ChatMessage>();
        int next = 0;
        foreach (var turn in record.Turns)
        {
            int count = CountPlaceholders(turn.Content);
            if (count > 0 && turn.Role != "user") throw Error($"an '{SftRecord.ImagePlaceholder}' placeholder outside a user turn ({turn.Role}).");
            if (next + count > grids.Count) throw Error($"more '{SftRecord.ImagePlaceholder}' placeholders than images ({grids.Count}).");
            next += count;
            messages.Add(ChatMessage.WithImagePlaceholders(turn.Role, turn.Content, Enumerable.Repeat(new ImageContent(), count).ToList()));
        }
        if (next != grids.Count) throw Error($"{next} '{SftRecord.ImagePlaceholder}' placeholder(s) but {grids.Count} image(s).");

        ChatEncoding encoding;
        try
        {
            encoding = _processor.Encode(messages, grids);
        }
        catch (ArgumentException e)
        {
            throw Error($"cannot encode the conversation: {e.Message}", e);
        }
        var ids = encoding.InputIds;
        var labels = encoding.Labels();
        if (!labels.Skip(1).Any(l => l >= 0)) throw Error("the record has no assistant tokens to train on.");
        if (ids.Length <= _maxLength) return new SftExample(record.Index, ids, labels, record.ImagePaths, grids, false);

        switch (_overlong)
        {
            case SftOverlongPolicy.Drop:
                _logger.LogWarning("SFT record {Index} has {Length} tokens (> {Max}); dropped.", record.Index, ids.Length, _maxLength);
                return null;
            case SftOverlongPolicy.Throw:
                throw Error($"{ids.Length} tokens exceed the maximum length {_maxLength}.");
        }
        int lastVision = Array.LastIndexOf(ids, _visionEndId);
        if (lastVision >= _maxLength)
            throw Error($"{ids.Length} tokens exceed the maximum length {_maxLength} and a cut there would split an image-pad block " +
                $"(the last image ends at token {lastVision}); raise MaxLength or lower ImageMaxPixels.");
        int firstTarget = Array.FindIndex(labels, l => l >= 0);
        if (firstTarget < 1 || firstTarget >= _maxLength)
            throw Error($"{ids.Length} tokens exceed the maximum length {_maxLength} and the prompt alone takes {firstTarget} tokens: no target would remain.");
        _logger.LogWarning("SFT record {Index} has {Length} tokens; truncated to {Max}.", record.Index, ids.Length, _maxLength);
        return new SftExample(record.Index, ids[.._maxLength], labels[.._maxLength], record.ImagePaths, grids, true);
    }

    private static int CountPlaceholders(string text) => text.Split(SftRecord.ImagePlaceholder).Length - 1;
}
