using System.Text.RegularExpressions;

namespace FineR1.Core.Text.Rewards;

/// <summary>
/// The <c>&lt;think&gt;</c>/<c>&lt;answer&gt;</c> parsing of the reference code, with Python's regex semantics
/// (<c>\s</c> includes U+001C–U+001F; <c>.</c> matches newlines; <c>strip()</c> is Python's).
/// </summary>
public static partial class AnswerParsing
{
    [GeneratedRegex(PythonString.RegexSpace + "*(<|>|/)" + PythonString.RegexSpace + "*", RegexOptions.CultureInvariant)]
    private static partial Regex TagWhitespace();

    [GeneratedRegex(@"\A(?:<think>.*?</think>" + PythonString.RegexSpace + @"*<answer>.*?</answer>)\z", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex FullFormat();

    [GeneratedRegex("<answer>(.*?)</answer>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex FirstAnswer();

    [GeneratedRegex("<answer>(.*)</answer>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex GreedyAnswer();

    /// <summary>
    /// The reward's normalisation <c>re.sub(r"\s*(&lt;|&gt;|/)\s*", r"\1", s)</c>: whitespace around every <c>&lt;</c>,
    /// <c>&gt;</c> and <c>/</c> is removed (also inside the answer text).
    /// </summary>
    /// <example><c>"&lt; think &gt;a&lt; /think &gt;\n&lt; answer &gt;X&lt; /answer &gt;"</c> → <c>"&lt;think&gt;a&lt;/think&gt;&lt;answer&gt;X&lt;/answer&gt;"</c>.</example>
    public static string NormalizeTagWhitespace(string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return TagWhitespace().Replace(response, "$1");
    }

    /// <summary>
    /// Whether the whole text is <c>&lt;think&gt;…&lt;/think&gt;</c>, optional whitespace, <c>&lt;answer&gt;…&lt;/answer&gt;</c>
    /// (<c>re.fullmatch</c>, DOTALL): nothing may come before or after.
    /// </summary>
    public static bool HasThinkAnswerFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return FullFormat().IsMatch(text);
    }

    /// <summary>The reward's answer: the first <c>&lt;answer&gt;(.*?)&lt;/answer&gt;</c>, stripped; null when there is none.</summary>
    public static string? ExtractFirstAnswer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = FirstAnswer().Match(text);
        return match.Success ? PythonString.Strip(match.Groups[1].Value) : null;
    }

    /// <summary>
    /// The evaluation's answer (<c>eval/evaluation.py: extract_answer</c>): greedy <c>&lt;answer&gt;(.*)&lt;/answer&gt;</c>,
    /// from the first <c>&lt;answer&gt;</c> to the last <c>&lt;/answer&gt;</c>, stripped; null when there is none.
    /// </summary>
    public static string? ExtractEvaluationAnswer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = GreedyAnswer().Match(text);
        return match.Success ? PythonString.Strip(match.Groups[1].Value) : null;
    }
}
