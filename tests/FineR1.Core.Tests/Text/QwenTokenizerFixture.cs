using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

/// <summary>The real Qwen tokenizer of tests/Fixtures/tokenizer, loaded once for all tests.</summary>
internal static class QwenTokenizerFixture
{
    public static string File => TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz");

    /// <summary>Added tokens Qwen3 has and Qwen2.5-VL does not (ids 151665–151668).</summary>
    public static readonly string[] Qwen3OnlyAddedTokens = ["<tool_response>", "</tool_response>", "<think>", "</think>"];

    private static readonly Lazy<QwenTokenizer> Trimmed = new(() => QwenTokenizer.Load(File, QwenTokenizerOptions.Qwen2_5_VL));
    private static readonly Lazy<QwenTokenizer> Full = new(() => QwenTokenizer.Load(File));

    /// <summary>Qwen2.5-VL's tokenizer: the Qwen3 file with added tokens above 151664 dropped by the loader option.</summary>
    public static QwenTokenizer Qwen2_5_VL => Trimmed.Value;

    /// <summary>The same file with all its added tokens (Qwen3's set, up to 151668).</summary>
    public static QwenTokenizer Qwen3AddedTokens => Full.Value;

    public static bool HasQwen3OnlyToken(string text) => Qwen3OnlyAddedTokens.Any(t => text.Contains(t, StringComparison.Ordinal));
}
