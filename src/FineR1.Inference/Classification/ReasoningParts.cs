using System.Text;
using System.Text.RegularExpressions;

namespace FineR1.Inference.Classification;

/// <summary>
/// The four rationale parts of a Fine-R1 answer (docs/method.md §4.2): visual analysis, candidate sub-categories, comparison and
/// final prediction. Each is null when the reasoning has no recognisable section for it.
/// </summary>
/// <param name="Think">The whole <c>&lt;think&gt;</c> content (stripped); the text before <c>&lt;answer&gt;</c> when the tag
/// is missing.</param>
/// <param name="VisualAnalysis">"Analysis of the Visual Features" / <c>&lt;analysis&gt;</c>.</param>
/// <param name="Candidates">"Candidate Subcategories" / <c>&lt;options&gt;</c>.</param>
/// <param name="Comparison">"Comparison Process" / <c>&lt;comparison&gt;</c>.</param>
/// <param name="Prediction">"Final Prediction", "Final Answer", "Predicted Subcategory" / <c>&lt;prediction&gt;</c>.</param>
public sealed partial record ReasoningParts(string Think, string? VisualAnalysis, string? Candidates, string? Comparison, string? Prediction)
{
    /// <summary>
    /// Splits a response. Two layouts are understood: the released SFT data's free-text headings (a short line starting
    /// with "Analysis", "Visual analysis/features", "Candidate", "Comparison", "Final Prediction/Answer", "Predicted
    /// Subcategory", "Prediction", optionally with <c>#</c>, <c>*</c>, a number or a colon) and the paper's tags
    /// <c>&lt;analysis&gt;</c>, <c>&lt;options&gt;</c>, <c>&lt;comparison&gt;</c>, <c>&lt;prediction&gt;</c>. Text under an
    /// unrecognised heading stays with the section before it; text before the first heading belongs to none.
    /// </summary>
    /// <example>
    /// <c>"&lt;think&gt; Analysis of the Visual Features:\nGray fur.\n\n Candidate Subcategories:\n1. British Shorthair\n\n
    /// Comparison Process:\n- ...\n\n Final Prediction:\nBritish Shorthair&lt;/think&gt;&lt;answer&gt;British Shorthair&lt;/answer&gt;"</c>
    /// → VisualAnalysis "Gray fur.", Candidates "1. British Shorthair", Comparison "- ...", Prediction "British Shorthair".
    /// </example>
    public static ReasoningParts Parse(string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var think = ThinkText(response);
        var tagged = new[] { "analysis", "options", "comparison", "prediction" }.Select(t => Tag(think, t)).ToArray();
        if (tagged.Any(t => t is not null)) return new ReasoningParts(think, tagged[0], tagged[1], tagged[2], tagged[3]);

        var sections = new StringBuilder?[4];
        int current = -1;
        foreach (var line in think.Split('\n'))
        {
            int kind = HeadingKind(line);
            if (kind >= 0) { current = kind; sections[kind] ??= new StringBuilder(); continue; }
            if (current >= 0) sections[current]!.Append(line).Append('\n');
        }
        string? Text(int i) => sections[i] is { } sb && sb.ToString().Trim() is { Length: > 0 } s ? s : null;
        return new ReasoningParts(think, Text(0), Text(1), Text(2), Text(3));
    }

    private static string ThinkText(string response)
    {
        var match = ThinkBlock().Match(response);
        if (match.Success) return match.Groups[1].Value.Trim();
        int answer = response.IndexOf("<answer>", StringComparison.Ordinal);
        var text = answer >= 0 ? response[..answer] : response;
        return text.Replace("<think>", "", StringComparison.Ordinal).Trim();
    }

    private static string? Tag(string text, string tag)
    {
        var m = Regex.Match(text, $"<{tag}>(.*?)</{tag}>", RegexOptions.Singleline | RegexOptions.CultureInvariant);
        return m.Success && m.Groups[1].Value.Trim() is { Length: > 0 } s ? s : null;
    }

    // 0 analysis, 1 candidates, 2 comparison, 3 prediction, -1 not a heading.
    private static int HeadingKind(string line)
    {
        var t = line.Trim().TrimStart('#', '*', ' ').TrimEnd('*', ' ');
        if (t.Length == 0 || t.Length > 70) return -1;
        var m = Heading().Match(t);
        if (!m.Success) return -1;
        // A heading ends the line (maybe after a colon) or is a short title; "Analysis: the wings are…" is a sentence.
        var rest = t[m.Length..];
        int colon = rest.IndexOf(':');
        if (colon >= 0 && rest[(colon + 1)..].Trim().Length > 0) return -1;
        if (m.Groups["a"].Success) return 0;
        if (m.Groups["c"].Success) return 1;
        if (m.Groups["m"].Success) return 2;
        return 3;
    }

    [GeneratedRegex(@"^(?:\d+[.)]\s*)?(?:(?<a>analysis\b|visual (?:analysis|features)\b)|(?<c>candidate)|(?<m>comparison)|(?<p>final (?:prediction|answer)\b|predicted sub-?category\b|prediction\b))",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Heading();

    [GeneratedRegex("<think>(.*?)</think>", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ThinkBlock();
}
