using FineR1.Core.Configuration;

namespace FineR1.Core.Tests.Modeling.Text;

/// <summary>Tiny random-weight configurations for fast decoder tests.</summary>
internal static class TinyText
{
    public static Qwen2_5_VLConfig Config { get; } = new()
    {
        Text = new Qwen2_5_VLTextConfig
        {
            VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, MropeSection = [1, 1, 2], TieWordEmbeddings = false,
        },
        Vision = new Qwen2_5_VLVisionConfig
        {
            Depth = 1, HiddenSize = 16, IntermediateSize = 16, NumHeads = 2, OutHiddenSize = 32, WindowSize = 56,
            FullAttentionBlockIndexes = [0],
        },
        ImageTokenId = 60, VideoTokenId = 61, VisionStartTokenId = 58, VisionEndTokenId = 59,
    };
}
