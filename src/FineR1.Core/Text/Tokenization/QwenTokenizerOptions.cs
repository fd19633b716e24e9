namespace FineR1.Core.Text.Tokenization;

/// <summary>Options of <see cref="QwenTokenizer"/> loading and encoding.</summary>
public sealed record QwenTokenizerOptions
{
    /// <summary>
    /// Drop every <c>added_tokens</c> entry whose id is above this value (null keeps all). Use 151664 to read a Qwen3
    /// <c>tokenizer.json</c> as Qwen2.5-VL: Qwen3 adds <c>&lt;tool_response&gt;</c>, <c>&lt;/tool_response&gt;</c>,
    /// <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c> (151665–151668), which Qwen2.5-VL encodes as ordinary text
    /// (<c>&lt;think&gt;</c> = [13708, 766, 29]).
    /// </summary>
    public int? MaxAddedTokenId { get; init; }

    /// <summary>Policy for lone UTF-16 surrogates in text to encode (default: throw).</summary>
    public LoneSurrogateHandling LoneSurrogates { get; init; } = LoneSurrogateHandling.Throw;

    /// <summary>Default options: keep every added token, reject lone surrogates.</summary>
    public static QwenTokenizerOptions Default { get; } = new();

    /// <summary>Qwen2.5-VL's added-token set (ids up to 151664), for reading a Qwen3 <c>tokenizer.json</c>.</summary>
    public static QwenTokenizerOptions Qwen2_5_VL { get; } = new() { MaxAddedTokenId = QwenSpecialTokens.LastQwen2_5_VLAddedTokenId };
}
