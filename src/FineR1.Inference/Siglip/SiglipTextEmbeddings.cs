using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>HF <c>SiglipTextEmbeddings</c>: token embedding plus a learned absolute position embedding.</summary>
public sealed class SiglipTextEmbeddings : nn.Module<Tensor, Tensor>
{
    /// <summary><c>[vocab, hidden]</c></summary>
    public Embedding token_embedding;
    /// <summary><c>[max_position_embeddings, hidden]</c></summary>
    public Embedding position_embedding;

    private readonly int _maxPositions;

    /// <summary>Creates the embeddings for <paramref name="config"/>.</summary>
    public SiglipTextEmbeddings(SiglipTextConfig config) : base(nameof(SiglipTextEmbeddings))
    {
        _maxPositions = config.MaxPositionEmbeddings;
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        RegisterComponents();
    }

    /// <summary>Embeds <paramref name="inputIds"/> <c>[B, T]</c> (T ≤ max_position_embeddings) into <c>[B, T, hidden]</c>.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        long length = inputIds.shape[^1];
        if (length > _maxPositions)
            throw new ArgumentException($"sequence length {length} exceeds max_position_embeddings {_maxPositions}.", nameof(inputIds));
        using var scope = NewDisposeScope();
        // HF's position_ids buffer is arange(max_positions)[:T]; it is not persistent, so it is built here.
        var positions = arange(length, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0); // [1, T]
        var h = token_embedding.forward(inputIds) + position_embedding.forward(positions);         // [B, T, hidden]
        return h.MoveToOuterDisposeScope();
    }
}
