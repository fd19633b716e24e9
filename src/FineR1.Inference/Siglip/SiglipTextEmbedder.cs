using FineR1.Inference.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Siglip;

/// <summary>
/// HF <c>SiglipModel.get_text_features</c> followed by L2 normalisation, as Fine-R1's open-world metric uses it:
/// each text tokenized to exactly 64 ids (<see cref="SiglipTokenizer"/>), run through <see cref="SiglipTextModel"/>,
/// pooled output divided by its norm.
/// </summary>
public sealed class SiglipTextEmbedder : ITextEmbedder, IDisposable
{
    private readonly SiglipTextModel _model;
    private readonly SiglipTokenizer _tokenizer;
    private readonly Device _device;

    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Pass HF's attention mask (1 on pieces and the first <c>&lt;/s&gt;</c>, 0 on padding) to the model. On by default,
    /// as Fine-R1's evaluation: it calls <c>get_text_features(**inputs)</c> with the output of HF's SigLIP tokenizer, which
    /// returns <c>attention_mask</c> (padding to 64 is then masked), so the paper's open-world similarities need it.
    /// Off reproduces SigLIP's own training setup (padding attends), e.g. the HF parity fixture.
    /// </summary>
    public bool UseAttentionMask { get; init; } = true;

    /// <summary>Wraps a loaded model and tokenizer (the embedder owns and disposes the model).</summary>
    public SiglipTextEmbedder(SiglipTextModel model, SiglipTokenizer tokenizer)
    {
        if (tokenizer.MaxLength > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"tokenizer max_length {tokenizer.MaxLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}.");
        _model = model; _tokenizer = tokenizer;
        _device = model.head.weight.device;
    }

    /// <summary>
    /// Loads a SigLIP checkpoint folder (<c>config.json</c>, <c>model.safetensors</c>, <c>spiece.model</c>), e.g. a
    /// download of <c>google/siglip-base-patch16-256</c>.
    /// </summary>
    public static SiglipTextEmbedder Load(string folder, Device? device = null)
    {
        var model = SiglipTextModel.Load(folder, ScalarType.Float32, device);
        var tokenizer = SiglipTokenizer.Load(folder, model.Config.MaxPositionEmbeddings);
        return new SiglipTextEmbedder(model, tokenizer);
    }

    /// <inheritdoc />
    public IReadOnlyList<float[]> Embed(IReadOnlyList<string> texts)
    {
        var result = new List<float[]>(texts.Count);
        for (int start = 0; start < texts.Count; start += BatchSize)
        {
            var batch = texts.Skip(start).Take(BatchSize).ToList();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            int t = _tokenizer.MaxLength;
            var ids = tensor(batch.SelectMany(_tokenizer.Encode).ToArray(), [batch.Count, t], device: _device);   // [B, 64]
            Tensor? mask = UseAttentionMask
                ? tensor(batch.SelectMany(_tokenizer.AttentionMask).ToArray(), [batch.Count, t], device: _device)
                : null;
            var output = _model.forward(ids, mask);
            var pooled = output.PoolerOutput;                                                                   // [B, P]
            var normalized = (pooled / pooled.norm(-1, keepdim: true, p: 2)).to(ScalarType.Float32).cpu();
            for (int i = 0; i < batch.Count; i++) result.Add(normalized[i].data<float>().ToArray());
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}
