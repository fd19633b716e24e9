using System.Text;
using Microsoft.ML.Tokenizers;

namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// Qwen2's pre-tokenizer, exact for every Unicode code point. It reproduces the HF split regex
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
/// by walking code points (<see cref="Rune"/>): .NET's <c>Regex</c> works on UTF-16 units, so its <c>\p{L}</c> and
/// <c>\p{N}</c> never match a letter or digit above U+FFFF (𠀀, 𝐇, 𝟙) and a <c>RegexPreTokenizer</c> disagrees with HF there.
/// Added tokens (when given) are cut out first, leftmost-longest, each as its own span, and the text between two of them
/// is split as if it were the whole string (HF splits added tokens off before the regex runs).
/// </summary>
/// <remarks>
/// Example: <c>" 𝟙𝟚𝟛"</c> splits into <c>" "</c>, <c>"𝟙"</c>, <c>"𝟚"</c>, <c>"𝟛"</c> (three supplementary digits, one per
/// pre-token, as HF does), where the plain regex yields one punctuation-like pre-token <c>" 𝟙𝟚𝟛"</c>.
/// Lone surrogates are classified as U+FFFD (neither letter, digit nor space).
/// </remarks>
public sealed class Qwen2PreTokenizer : PreTokenizer
{
    private readonly AddedTokenMatcher? _addedTokens;

    /// <summary>Creates the pre-tokenizer; <paramref name="addedTokens"/> are emitted whole (null or empty: none).</summary>
    public Qwen2PreTokenizer(IEnumerable<string>? addedTokens = null)
    {
        var list = addedTokens?.ToList();
        if (list is { Count: > 0 }) _addedTokens = new AddedTokenMatcher(list);
    }

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        text is null ? [] : PreTokenize(text.AsSpan());

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var spans = new List<(int Offset, int Length)>();
        var position = 0;
        while (position < text.Length)
        {
            var token = "";
            var tokenStart = _addedTokens is null ? -1 : _addedTokens.FindNext(text, position, out token);
            if (tokenStart < 0)
            {
                SplitSegment(text, position, text.Length, spans);
                break;
            }
            SplitSegment(text, position, tokenStart, spans);
            spans.Add((tokenStart, token.Length));
            position = tokenStart + token.Length;
        }
        return spans;
    }

    /// <summary>Splits <c>text[start..end]</c> (no added tokens inside) into pre-tokens, appended to <paramref name="spans"/>.</summary>
    internal static void SplitSegment(ReadOnlySpan<char> text, int start, int end, List<(int Offset, int Length)> spans)
    {
        var segment = text[..end];
        for (var i = start; i < end;)
        {
            var matchEnd = MatchAt(segment, i);
            spans.Add((i, matchEnd - i));
            i = matchEnd;
        }
    }

    private enum Kind : byte { Letter, Number, Space, Other }

    private static Kind KindOf(Rune r) =>
        Rune.IsLetter(r) ? Kind.Letter : Rune.IsNumber(r) ? Kind.Number : Rune.IsWhiteSpace(r) ? Kind.Space : Kind.Other;

    private static Rune RuneAt(ReadOnlySpan<char> s, int i, out int length)
    {
        // Invalid UTF-16 (a lone surrogate) decodes as U+FFFD with length 1.
        Rune.DecodeFromUtf16(s[i..], out var rune, out length);
        return rune;
    }

    private static bool IsCrOrLf(char c) => c is '\r' or '\n';

    private static char AsciiLower(char c) => c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;

    /// <summary>End (exclusive) of the pre-token that starts at <paramref name="i"/>; the segment ends at <c>s.Length</c>.</summary>
    private static int MatchAt(ReadOnlySpan<char> s, int i)
    {
        var end = s.Length;

        // a) (?i:'s|'t|'re|'ve|'m|'ll|'d) — ASCII case-insensitive.
        if (s[i] == '\'' && i + 1 < end)
        {
            var c1 = AsciiLower(s[i + 1]);
            if (c1 is 's' or 't' or 'm' or 'd') return i + 2;
            if (i + 2 < end)
            {
                var c2 = AsciiLower(s[i + 2]);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return i + 3;
            }
        }

        var r0 = RuneAt(s, i, out var n0);
        var k0 = KindOf(r0);

        // b) [^\r\n\p{L}\p{N}]?\p{L}+ — the optional code point is tried first (greedy).
        if (k0 == Kind.Letter) return RunEnd(s, i, Kind.Letter);
        if (k0 != Kind.Number && !IsCrOrLf(s[i]) && i + n0 < end && KindOf(RuneAt(s, i + n0, out _)) == Kind.Letter)
            return RunEnd(s, i + n0, Kind.Letter);

        // c) \p{N} — one code point.
        if (k0 == Kind.Number) return i + n0;

        // d) ' '?[^\s\p{L}\p{N}]+[\r\n]*
        var j = i;
        if (s[i] == ' ' && i + 1 < end && KindOf(RuneAt(s, i + 1, out _)) == Kind.Other) j = i + 1;
        if (KindOf(RuneAt(s, j, out _)) == Kind.Other)
        {
            j = RunEnd(s, j, Kind.Other);
            while (j < end && IsCrOrLf(s[j])) j++;
            return j;
        }

        // Here s[i] is whitespace (all White_Space code points are in the BMP, one UTF-16 unit each).
        var runEnd = i;
        var lastNewline = -1;
        while (runEnd < end && char.IsWhiteSpace(s[runEnd]))
        {
            if (IsCrOrLf(s[runEnd])) lastNewline = runEnd;
            runEnd++;
        }

        // e) \s*[\r\n]+ — up to and including the last \r or \n of the whitespace run.
        if (lastNewline >= 0) return lastNewline + 1;
        // f) \s+(?!\S) — the whole run at the end of the segment, else all but its last char.
        if (runEnd == end) return runEnd;
        if (runEnd - i > 1) return runEnd - 1;
        // g) \s+
        return runEnd;
    }

    private static int RunEnd(ReadOnlySpan<char> s, int i, Kind kind)
    {
        while (i < s.Length)
        {
            var r = RuneAt(s, i, out var n);
            if (KindOf(r) != kind) break;
            i += n;
        }
        return i;
    }
}
