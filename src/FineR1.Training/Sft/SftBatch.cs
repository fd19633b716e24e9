using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Processing;
using FineR1.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Sft;

/// <summary>
/// A right-padded micro-batch on the CPU. Padding gets the pad id, attention 0 and label −100, so it neither attends
/// nor is supervised. No positions: the model derives them from the ids, the grids and the attention mask in its
/// forward (M-RoPE for Qwen2.5-VL), so a batch fits any model family. Dispose it after use.
/// </summary>
public sealed class SftBatch : IDisposable
{
    /// <summary>Token ids <c>[B, T]</c> (int64), T = longest sequence of the batch.</summary>
    public Tensor InputIds { get; }
    /// <summary>1 for tokens, 0 for padding <c>[B, T]</c> (int64).</summary>
    public Tensor AttentionMask { get; }
    /// <summary>Unshifted labels <c>[B, T]</c> (int64, −100 where unsupervised).</summary>
    public Tensor Labels { get; }
    /// <summary>Processor output <c>[patches, 1176]</c> of all images in batch order, or null.</summary>
    public Tensor? PixelValues { get; }
    /// <summary><c>[images, 3]</c>, or null.</summary>
    public Tensor? ImageGridThw { get; }
    /// <summary>Real (non-padding) tokens.</summary>
    public long Tokens { get; }
    /// <summary>Tokens the loss is computed on.</summary>
    public long SupervisedTokens { get; }
    /// <summary>Record indices of the rows.</summary>
    public IReadOnlyList<int> RecordIndices { get; }

    private SftBatch(Tensor ids, Tensor mask, Tensor labels, Tensor? pixels, Tensor? grids, long tokens, long supervised, IReadOnlyList<int> records)
    {
        InputIds = ids; AttentionMask = mask; Labels = labels; PixelValues = pixels; ImageGridThw = grids;
        Tokens = tokens; SupervisedTokens = supervised; RecordIndices = records;
    }

    /// <summary>Pads <paramref name="examples"/> to a batch and preprocesses their images.</summary>
    /// <param name="examples">At least one example.</param>
    /// <param name="processor">The processor (the encoder's).</param>
    /// <param name="padTokenId">Id written into padding (Qwen: <c>&lt;|endoftext|&gt;</c>).</param>
    public static SftBatch Collate(IReadOnlyList<SftExample> examples, Qwen2_5_VLProcessor processor, int padTokenId)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example.", nameof(examples));
        int rows = examples.Count, length = examples.Max(e => e.Length);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var labels = new long[rows * length];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, LanguageModelLoss.IgnoreIndex);
        for (int r = 0; r < rows; r++)
        {
            var e = examples[r];
            for (int t = 0; t < e.Length; t++)
            {
                ids[r * length + t] = e.InputIds[t];
                mask[r * length + t] = 1;
                labels[r * length + t] = e.Labels[t];
            }
        }
        using var scope = NewDisposeScope();
        var idsT = tensor(ids, [rows, length], ScalarType.Int64);
        var maskT = tensor(mask, [rows, length], ScalarType.Int64);
        var labelsT = tensor(labels, [rows, length], ScalarType.Int64);
        var paths = examples.SelectMany(e => e.ImagePaths).ToArray();
        Tensor? pixels = null, grids = null;
        if (paths.Length > 0)
        {
            var processed = processor.ProcessImages(paths.Select(ImageInput.FromFile).ToArray());
            var expected = examples.SelectMany(e => e.Grids).ToArray();
            if (!processed.Grids.SequenceEqual(expected))
                throw new InvalidOperationException("an image changed on disk since it was encoded (its grid differs).");
            pixels = processed.PixelValues;
            grids = processed.ImageGridThw;
        }
        var batch = new SftBatch(idsT.MoveToOuterDisposeScope(), maskT.MoveToOuterDisposeScope(), labelsT.MoveToOuterDisposeScope(),
            pixels?.MoveToOuterDisposeScope(), grids?.MoveToOuterDisposeScope(),
            examples.Sum(e => (long)e.Length), examples.Sum(e => (long)e.SupervisedTokens), examples.Select(e => e.RecordIndex).ToList());
        return batch;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); Labels.Dispose();
        PixelValues?.Dispose(); ImageGridThw?.Dispose();
    }
}
