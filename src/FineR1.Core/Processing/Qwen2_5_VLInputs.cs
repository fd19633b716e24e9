using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using static TorchSharp.torch;

namespace FineR1.Core.Processing;

/// <summary>
/// What <see cref="Qwen2_5_VLProcessor.Apply"/> returns, as HF's <c>BatchFeature</c> for one chat: <c>input_ids</c>,
/// the assistant mask (SFT labels), <c>pixel_values</c> and <c>image_grid_thw</c>. Owns the pixel tensors: dispose it.
/// </summary>
public sealed class Qwen2_5_VLInputs : IDisposable
{
    private readonly List<Tensor> _views = [];

    internal Qwen2_5_VLInputs(IReadOnlyList<ChatMessage> chat, ChatEncoding encoding, ProcessedImages? images)
    {
        Chat = chat; Encoding = encoding; Images = images;
    }

    /// <summary>The chat the ids encode, its image parts sized (and the system prompt, when one was given, first).</summary>
    public IReadOnlyList<ChatMessage> Chat { get; }

    /// <summary>Ids and per-token assistant mask.</summary>
    public ChatEncoding Encoding { get; }

    /// <summary>Token ids <c>[T]</c>, image blocks expanded to their pad counts.</summary>
    public int[] InputIds => Encoding.InputIds;

    /// <summary>True where the token is an assistant target (content + <c>&lt;|im_end|&gt;\n</c>), <c>[T]</c>.</summary>
    public bool[] AssistantMask => Encoding.AssistantMask;

    /// <summary>Unshifted SFT labels: the id on assistant targets, <paramref name="ignoreIndex"/> elsewhere.</summary>
    public long[] Labels(long ignoreIndex = -100) => Encoding.Labels(ignoreIndex);

    /// <summary><c>pixel_values</c> <c>[patches, 1176]</c> and <c>image_grid_thw</c> <c>[images, 3]</c>; null for a chat without images.</summary>
    public ProcessedImages? Images { get; }

    /// <summary>The images' grids, in order (empty without images).</summary>
    public IReadOnlyList<VisionGrid> Grids => Images?.Grids ?? [];

    /// <summary>
    /// The ids and images as a <see cref="GenerationPrompt"/>: each image's rows of <see cref="Images"/> (views, valid
    /// while this object is not disposed; <see cref="GenerationInputs.LeftPad"/> copies them).
    /// </summary>
    public GenerationPrompt ToGenerationPrompt()
    {
        var ids = Array.ConvertAll(InputIds, i => (long)i);
        if (Images is null) return new GenerationPrompt(ids);
        if (Images.Grids.Count == 1) return new GenerationPrompt(ids, [new PromptImage(Images.PixelValues, Images.Grids[0])]);
        var prompts = new List<PromptImage>(Images.Grids.Count);
        long start = 0;
        foreach (var grid in Images.Grids)
        {
            var rows = Images.PixelValues.narrow(0, start, grid.PatchCount);
            _views.Add(rows);
            prompts.Add(new PromptImage(rows, grid));
            start += grid.PatchCount;
        }
        return new GenerationPrompt(ids, prompts);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var view in _views) view.Dispose();
        _views.Clear();
        Images?.Dispose();
    }
}
