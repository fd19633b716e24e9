namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// One entry of <c>added_tokens</c> in an HF <c>tokenizer.json</c>. Added tokens are cut out of the text verbatim before
/// BPE runs, whether <see cref="Special"/> or not; <see cref="Special"/> only decides whether
/// <c>skip_special_tokens</c> drops them when decoding.
/// </summary>
/// <param name="Content">The token text, e.g. <c>&lt;|im_end|&gt;</c>.</param>
/// <param name="Id">Its id, e.g. 151645.</param>
/// <param name="Special">HF's <c>special</c> flag (true for ids 151643–151656 in Qwen2.5-VL, false for <c>&lt;tool_call&gt;</c> and later).</param>
public sealed record AddedToken(string Content, int Id, bool Special);
