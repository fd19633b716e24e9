using System.Text.RegularExpressions;

namespace FineR1.Inference.Evaluation;

/// <summary>Pulls the answer out of a model output as the reference does.</summary>
public static partial class AnswerExtractor
{
    /// <summary>
    /// <c>re.search(r'&lt;answer&gt;(.*)&lt;/answer&gt;', out, re.DOTALL).group(1).strip()</c>, or null when there is
    /// no match. The <c>.*</c> is greedy: with two answer blocks it spans from the first <c>&lt;answer&gt;</c> to the
    /// last <c>&lt;/answer&gt;</c>, e.g. <c>"&lt;answer&gt;A&lt;/answer&gt; &lt;answer&gt;B&lt;/answer&gt;"</c> →
    /// <c>"A&lt;/answer&gt; &lt;answer&gt;B"</c>.
    /// </summary>
    public static string? Extract(string output)
    {
        var m = AnswerTag().Match(output);
        return m.Success ? StripPython(m.Groups[1].Value) : null;
    }

    /// <summary>The open-world "base" text: the extracted answer, or the whole output when there is none.</summary>
    public static string OpenWorldBase(string output) => Extract(output) ?? output;

    /// <summary>Python's <c>str.strip()</c> (Unicode whitespace plus the ASCII separators 0x1C–0x1F).</summary>
    internal static string StripPython(string s)
    {
        static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';
        int start = 0, end = s.Length;
        while (start < end && IsPythonSpace(s[start])) start++;
        while (end > start && IsPythonSpace(s[end - 1])) end--;
        return s[start..end];
    }

    [GeneratedRegex("<answer>(.*)</answer>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerTag();
}
