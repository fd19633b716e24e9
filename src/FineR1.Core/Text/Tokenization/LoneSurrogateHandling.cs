namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// What <see cref="QwenTokenizer.Encode(string)"/> does with a lone UTF-16 surrogate (a high surrogate not followed by a low
/// one, or a low surrogate on its own). Such text cannot be represented in UTF-8, so HuggingFace (Rust strings, Python's
/// strict UTF-8 conversion) never tokenizes it: there is no reference behaviour to match.
/// </summary>
public enum LoneSurrogateHandling
{
    /// <summary>Throw an <see cref="ArgumentException"/> naming the position (the default, as HF refuses such text too).</summary>
    Throw,
    /// <summary>Replace each lone surrogate by U+FFFD (what <c>Encoding.UTF8</c> does when it writes such a string).</summary>
    ReplaceWithReplacementCharacter,
}
