using System.Buffers;

namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// Finds added tokens in raw text leftmost-longest, as HF's <c>AddedVocabulary</c> (Aho-Corasick, leftmost-longest)
/// does. Only positions holding the first character of some added token are tested (for Qwen: only <c>&lt;</c>).
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, string[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<string> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)
            .GroupBy(t => t[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>The first added token at or after <paramref name="from"/>: its start, or -1 when there is none.</summary>
    public int FindNext(ReadOnlySpan<char> text, int from, out string token)
    {
        token = "";
        var i = from;
        while (i < text.Length)
        {
            var hit = text[i..].IndexOfAny(_firstChars);
            if (hit < 0) return -1;
            i += hit;
            foreach (var candidate in _byFirstChar[text[i]])
            {
                if (text[i..].StartsWith(candidate, StringComparison.Ordinal))
                {
                    token = candidate;
                    return i;
                }
            }
            i++;
        }
        return -1;
    }
}
