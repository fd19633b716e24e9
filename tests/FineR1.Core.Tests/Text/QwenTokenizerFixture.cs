using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

/// <summary>The real Qwen tokenizer of tests/Fixtures/tokenizer, loaded once for all tests.</summary>
internal static class QwenTokenizerFixture
{
    public static string File => TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz");

    private static readonly Lazy<QwenTokenizer> Shared =
        new(() => QwenTokenizer.Load(File, QwenTokenizerOptions.Default));

    /// <summary>Qwen2.5-VL's tokenizer: the Qwen3 file with added tokens above 151664 dropped (loader option).</summary>
    public static QwenTokenizer Qwen2_5_VL => Shared.Value;
}
