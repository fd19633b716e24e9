using System.Globalization;
using System.Text;

namespace FineR1.Core.Text;

/// <summary>
/// Python 3 <c>str</c> operations the reference code uses (<c>strip</c>, <c>split</c>, <c>lower</c>, <c>repr</c>), where
/// .NET's nearest method differs: Python's whitespace includes U+001C–U+001F, and <c>lower()</c> maps U+0130 to "i̇" and
/// a word-final Σ to ς.
/// </summary>
internal static class PythonString
{
    /// <summary><c>str.isspace()</c> for one character (all such characters are in the BMP).</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    /// <summary>The class Python's <c>\s</c> matches in a str pattern, for .NET regexes.</summary>
    public const string RegexSpace = @"[\s\x1c-\x1f]";

    /// <summary><c>s.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary><c>s.split()</c>: runs of whitespace separate, no empty pieces.</summary>
    public static List<string> Split(string s)
    {
        var parts = new List<string>();
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && IsSpace(s[i])) i++;
            var start = i;
            while (i < s.Length && !IsSpace(s[i])) i++;
            if (i > start) parts.Add(s[start..i]);
        }
        return parts;
    }

    /// <summary><c>s.lower()</c>: full lowercase mapping with Python's two context rules (U+0130 and final sigma).</summary>
    public static string Lower(string s)
    {
        var result = new StringBuilder(s.Length);
        var i = 0;
        while (i < s.Length)
        {
            Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out var length);
            if (length == 1 && char.IsSurrogate(s[i])) result.Append(s[i]);      // lone surrogate: kept, like Python
            else if (rune.Value == 0x0130) result.Append("i\u0307");
            else if (rune.Value == 0x03A3) result.Append(IsFinalSigma(s, i) ? 'ς' : 'σ');
            else result.Append(Rune.ToLowerInvariant(rune).ToString());
            i += length;
        }
        return result.ToString();
    }

    // Final_Sigma: a cased letter, then case-ignorables, then Σ, and no (case-ignorables then a cased letter) after it.
    private static bool IsFinalSigma(string s, int sigmaIndex)
    {
        var j = sigmaIndex;
        var casedBefore = false;
        while (j > 0)
        {
            var r = RuneBefore(s, j, out var n);
            j -= n;
            if (IsCaseIgnorable(r)) continue;
            casedBefore = IsCased(r);
            break;
        }
        if (!casedBefore) return false;
        j = sigmaIndex + 1;
        while (j < s.Length)
        {
            Rune.DecodeFromUtf16(s.AsSpan(j), out var r, out var n);
            j += n;
            if (IsCaseIgnorable(r)) continue;
            return !IsCased(r);
        }
        return true;
    }

    private static Rune RuneBefore(string s, int end, out int length)
    {
        Rune.DecodeLastFromUtf16(s.AsSpan(0, end), out var r, out length);
        return r;
    }

    private static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || r.Value is '\'' or '.' or ':' or '^' or '`' or 0x00B7 or 0x0387 or 0x05F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;

    /// <summary>
    /// <c>repr(s)</c>: single quotes unless the text has <c>'</c> and no <c>"</c>; backslash, the quote, \t \n \r escaped;
    /// other non-printable code points as \xNN, \uNNNN or \UNNNNNNNN.
    /// </summary>
    /// <example><c>repr("colt's foot")</c> = <c>"colt's foot"</c>; <c>repr("Boeing 737")</c> = <c>'Boeing 737'</c>.</example>
    public static string Repr(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var result = new StringBuilder(s.Length + 2).Append(quote);
        var i = 0;
        while (i < s.Length)
        {
            Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out var length);
            int value = length == 1 && char.IsSurrogate(s[i]) ? s[i] : rune.Value;
            i += length;
            if (value == quote || value == '\\') result.Append('\\').Append((char)value);
            else if (value == '\t') result.Append(@"\t");
            else if (value == '\n') result.Append(@"\n");
            else if (value == '\r') result.Append(@"\r");
            else if (value < 0x7F && value >= 0x20) result.Append((char)value);
            else if (IsPrintable(value)) result.Append(char.ConvertFromUtf32(value));
            else if (value <= 0xFF) result.Append($"\\x{value:x2}");
            else if (value <= 0xFFFF) result.Append($"\\u{value:x4}");
            else result.Append($"\\U{value:x8}");
        }
        return result.Append(quote).ToString();
    }

    /// <summary><c>str(list_of_str)</c>: <c>['a', 'b']</c>.</summary>
    public static string ListRepr(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Repr)) + "]";

    // str.isprintable: not Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (ASCII space handled by the caller).
    private static bool IsPrintable(int value)
    {
        if (value is >= 0xD800 and <= 0xDFFF) return false;
        return CharUnicodeInfo.GetUnicodeCategory(value) is not (UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }
}
