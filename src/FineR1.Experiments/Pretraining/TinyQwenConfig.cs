using FineR1.Core.Configuration;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// A tiny Qwen2.5-VL configuration for CPU demos: the real architecture and vision geometry (patch 14, merge 2, tied
/// embeddings) with a few narrow layers. A 112×112 image becomes 8×8 patches → 16 visual tokens. The vocabulary is the
/// real one (151,936 rows), or, given a closed-vocabulary tokenizer (<see cref="QwenTokenizer.WithClosedVocabulary(IEnumerable{string})"/>),
/// that tokenizer's rows with the image, video and vision-boundary token ids taken from it.
/// </summary>
public static class TinyQwenConfig
{
    /// <summary>Builds the configuration.</summary>
    /// <param name="hiddenSize">Decoder width (a multiple of 32: 4 heads of hidden/4, M-RoPE needs head_dim/2 split 1:1.5:1.5).</param>
    /// <param name="layers">Decoder layers.</param>
    /// <param name="visionDepth">Vision blocks (the last one uses full attention).</param>
    /// <param name="visionHidden">Vision width (4 heads).</param>
    /// <param name="tokenizer">A closed-vocabulary tokenizer whose ids the model speaks, or null for the full vocabulary.</param>
    public static Qwen2_5_VLConfig Create(int hiddenSize = 128, int layers = 2, int visionDepth = 2, int visionHidden = 64, QwenTokenizer? tokenizer = null)
    {
        if (hiddenSize < 32 || hiddenSize % 32 != 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "must be a positive multiple of 32.");
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "must be at least 1.");
        if (visionDepth < 1) throw new ArgumentOutOfRangeException(nameof(visionDepth), visionDepth, "must be at least 1.");
        if (visionHidden < 16 || visionHidden % 16 != 0) throw new ArgumentOutOfRangeException(nameof(visionHidden), visionHidden, "must be a positive multiple of 16.");
        int headDim = hiddenSize / 4;
        int half = headDim / 2;                       // M-RoPE sections sum to head_dim / 2 (3B: 16+24+24 = 64)
        int t = half / 4, hw = (half - t) / 2;
        var config = new Qwen2_5_VLConfig
        {
            Text = new Qwen2_5_VLTextConfig
            {
                HiddenSize = hiddenSize, IntermediateSize = 2 * hiddenSize, NumHiddenLayers = layers,
                NumAttentionHeads = 4, NumKeyValueHeads = 2, MropeSection = [t, hw, half - t - hw],
                MaxPositionEmbeddings = 4096, TieWordEmbeddings = true,
            },
            Vision = new Qwen2_5_VLVisionConfig
            {
                Depth = visionDepth, HiddenSize = visionHidden, IntermediateSize = 2 * visionHidden, NumHeads = 4,
                FullAttentionBlockIndexes = [visionDepth - 1], OutHiddenSize = hiddenSize, WindowSize = 112,
            },
        };
        if (tokenizer?.ClosedVocabulary is not null)
            config = config with
            {
                Text = config.Text with { VocabSize = tokenizer.VocabularySize, BosTokenId = tokenizer.EndOfTextId, EosTokenId = tokenizer.ImEndId },
                ImageTokenId = tokenizer.ImagePadId, VideoTokenId = tokenizer.VideoPadId,
                VisionStartTokenId = tokenizer.VisionStartId, VisionEndTokenId = tokenizer.VisionEndId,
            };
        config.Validate();
        return config;
    }
}
