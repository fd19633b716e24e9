using FineR1.Core.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>One image of a prompt, preprocessed as HF <c>Qwen2VLImageProcessor</c> does.</summary>
/// <param name="PixelValues">Flattened patches <c>[t·h·w, 3·2·14·14]</c> (float).</param>
/// <param name="Grid">The patch grid (t, h, w), e.g. (1, 6, 8) for a 112×84 image.</param>
public sealed record PromptImage(Tensor PixelValues, VisionGrid Grid);

/// <summary>One prompt: its token ids (image placeholders included) and its images in prompt order.</summary>
/// <param name="TokenIds">Prompt token ids.</param>
/// <param name="Images">Images whose vision blocks appear in <paramref name="TokenIds"/>, in order; may be empty.</param>
public sealed record GenerationPrompt(IReadOnlyList<long> TokenIds, IReadOnlyList<PromptImage> Images)
{
    /// <summary>A text-only prompt.</summary>
    public GenerationPrompt(IReadOnlyList<long> tokenIds) : this(tokenIds, []) { }
}

/// <summary>
/// A batch of prompts ready for generation: left-padded ids and mask, plus the pixel values of all images of all rows
/// concatenated in row-then-prompt order (as HF processors return them; the model uses them in prefill only).
/// Owns its tensors: disposing it disposes them.
/// </summary>
public sealed class GenerationInputs : IDisposable
{
    /// <summary>Token ids <c>[B, T]</c> (int64), padding on the left.</summary>
    public Tensor InputIds { get; }
    /// <summary>1 for prompt tokens, 0 for padding, <c>[B, T]</c> (int64).</summary>
    public Tensor AttentionMask { get; }
    /// <summary>All images' patches <c>[patches, 1176]</c>, or null for a text-only batch.</summary>
    public Tensor? PixelValues { get; }
    /// <summary>The images' grids <c>[images, 3]</c> (int64), or null for a text-only batch.</summary>
    public Tensor? ImageGridThw { get; }

    /// <summary>Rows in the batch.</summary>
    public int BatchSize => (int)InputIds.shape[0];
    /// <summary>Padded prompt length.</summary>
    public int PromptLength => (int)InputIds.shape[1];

    /// <summary>Wraps existing tensors (taking ownership).</summary>
    /// <exception cref="ArgumentException">Shapes or dtypes disagree, or only one of the image tensors is given.</exception>
    public GenerationInputs(Tensor inputIds, Tensor attentionMask, Tensor? pixelValues = null, Tensor? imageGridThw = null)
    {
        if (inputIds.dim() != 2 || inputIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"input ids must be an int64 [B, T] tensor, got {inputIds.dtype} [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (inputIds.shape[0] < 1 || inputIds.shape[1] < 1)
            throw new ArgumentException("input ids must hold at least one row of at least one token.", nameof(inputIds));
        if (!attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"attention mask shape [{string.Join(", ", attentionMask.shape)}] differs from input ids [{string.Join(", ", inputIds.shape)}].", nameof(attentionMask));
        if ((pixelValues is null) != (imageGridThw is null))
            throw new ArgumentException("pixel values and image grids must be given together.", nameof(pixelValues));
        if (imageGridThw is not null && (imageGridThw.dim() != 2 || imageGridThw.shape[1] != 3))
            throw new ArgumentException($"image grid must be [images, 3], got [{string.Join(", ", imageGridThw.shape)}].", nameof(imageGridThw));
        InputIds = inputIds; AttentionMask = attentionMask; PixelValues = pixelValues; ImageGridThw = imageGridThw;
    }

    /// <summary>
    /// Left-pads <paramref name="prompts"/> to the longest one with <paramref name="padTokenId"/> (mask 0 there) and
    /// concatenates their images, all on <paramref name="device"/> (CPU when null).
    /// </summary>
    /// <example>Prompts <c>[5, 6, 7]</c> and <c>[8]</c> with pad 0 give ids <c>[[5, 6, 7], [0, 0, 8]]</c> and mask
    /// <c>[[1, 1, 1], [0, 0, 1]]</c>.</example>
    /// <exception cref="ArgumentException">No prompts, an empty prompt, a negative id, or an image whose pixel rows do not
    /// match t·h·w of its grid.</exception>
    public static GenerationInputs LeftPad(IReadOnlyList<GenerationPrompt> prompts, long padTokenId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("at least one prompt is needed.", nameof(prompts));
        int rows = prompts.Count, length = 0;
        for (int r = 0; r < rows; r++)
        {
            if (prompts[r].TokenIds.Count == 0) throw new ArgumentException($"prompt {r} is empty.", nameof(prompts));
            length = Math.Max(length, prompts[r].TokenIds.Count);
        }
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var pixels = new List<Tensor>();
        var grids = new List<VisionGrid>();
        for (int r = 0; r < rows; r++)
        {
            var tokens = prompts[r].TokenIds;
            int offset = length - tokens.Count;
            for (int i = 0; i < offset; i++) ids[r * length + i] = padTokenId;
            for (int i = 0; i < tokens.Count; i++)
            {
                if (tokens[i] < 0) throw new ArgumentException($"prompt {r} has the negative token id {tokens[i]} at {i}.", nameof(prompts));
                ids[r * length + offset + i] = tokens[i];
                mask[r * length + offset + i] = 1;
            }
            foreach (var image in prompts[r].Images)
            {
                var g = image.Grid;
                if (g.T < 1 || g.H < 1 || g.W < 1)
                    throw new ArgumentException($"prompt {r}: image grid must be three positive numbers (t, h, w).", nameof(prompts));
                if (image.PixelValues.dim() != 2 || image.PixelValues.shape[0] != (long)g.T * g.H * g.W)
                    throw new ArgumentException($"prompt {r}: image pixel values [{string.Join(", ", image.PixelValues.shape)}] do not have t·h·w = {(long)g.T * g.H * g.W} rows.", nameof(prompts));
                pixels.Add(image.PixelValues);
                grids.Add(g);
            }
        }
        var target = device ?? CPU;
        var inputIds = MoveTo(tensor(ids, [rows, length], ScalarType.Int64), target);
        var attention = MoveTo(tensor(mask, [rows, length], ScalarType.Int64), target);
        Tensor? pixelValues = null, gridThw = null;
        if (pixels.Count > 0)
        {
            pixelValues = MoveTo(cat(pixels, 0), target);
            gridThw = MoveTo(VisionGrid.ToTensor(grids), target);
        }
        return new GenerationInputs(inputIds, attention, pixelValues, gridThw);
    }

    private static Tensor MoveTo(Tensor t, Device device)
    {
        if (t.device_type == device.type && (device.type == DeviceType.CPU || t.device_index == device.index)) return t;
        using (t) return t.to(device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); PixelValues?.Dispose(); ImageGridThw?.Dispose();
    }
}
