using System.Text;

namespace FineR1.Inference.Evaluation;

/// <summary>The evaluation prompts of Fine-R1's released <c>eval/evaluation.py</c> (spec §3.3), character for character.</summary>
public static class EvalPrompts
{
    /// <summary>
    /// Closed-world prompt. <paramref name="options"/> are written as Python's <c>str(list)</c>, e.g.
    /// <c>['Black Footed Albatross', 'Heermann Gull']</c> (and <c>"colt's foot"</c> in double quotes).
    /// </summary>
    public static string ClosedWorld(string question, IReadOnlyList<string> options) =>
        $"Given the question: {question}, based on the options provided in {PythonRepr.List(options)}, output the thinking process in <think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.";

    /// <summary>Open-world prompt (no candidate list).</summary>
    public static string OpenWorld(string question) =>
        $"Given the question: {question}. This is a fine-grained question. Output reasoning in <think></think> and the final answer in <answer></answer>.";
}

/// <summary>Python's <c>repr</c> of strings and lists of strings (CPython 3 rules).</summary>
public static class PythonRepr
{
    /// <summary><c>str(list_of_str)</c>: <c>['a', "b's"]</c>.</summary>
    public static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(String)) + "]";

    /// <summary>
    /// <c>repr(str)</c>: single quotes unless the text contains <c>'</c> and no <c>"</c>; backslash, the chosen quote,
    /// <c>\t \n \r</c> and other non-printable characters escaped.
    /// </summary>
    public static string String(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        foreach (var rune in s.EnumerateRunes())
        {
            int c = rune.Value;
            if (c == quote || c == '\\') sb.Append('\\').Append((char)c);
            else if (c == '\t') sb.Append("\\t");
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c < 0x20 || c == 0x7F) sb.Append($"\\x{c:x2}");
            else if (c > 0x7F && !IsPrintable(rune))
                sb.Append(c <= 0xFF ? $"\\x{c:x2}" : c <= 0xFFFF ? $"\\u{c:x4}" : $"\\U{c:x8}");
            else sb.Append(rune.ToString());
        }
        return sb.Append(quote).ToString();
    }

    // Python's str.isprintable: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (except the ASCII space).
    private static bool IsPrintable(Rune r) => Rune.GetUnicodeCategory(r) switch
    {
        System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format
            or System.Globalization.UnicodeCategory.Surrogate or System.Globalization.UnicodeCategory.PrivateUse
            or System.Globalization.UnicodeCategory.OtherNotAssigned or System.Globalization.UnicodeCategory.LineSeparator
            or System.Globalization.UnicodeCategory.ParagraphSeparator or System.Globalization.UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };
}
