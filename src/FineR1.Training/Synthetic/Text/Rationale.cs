using System.Text;
using FineR1.Training.Synthetic.Taxonomy;

namespace FineR1.Training.Synthetic.Text;

/// <summary>
/// The Stage-1 chain of thought in the released data's shape (spec §4.2): four free-text sections inside
/// <c>&lt;think&gt;</c> — visual analysis of the attributes, candidate sub-categories (with the recap line
/// "The analysis of candidate subcategories:"), comparison of each candidate, final prediction ending in
/// "The prediction is: X" — then <c>&lt;/think&gt;\n\n&lt;answer&gt;X&lt;/answer&gt;</c>.
/// </summary>
public static class Rationale
{
    /// <summary>Section headings, in order (each starts a line after a blank line, like the paper's data).</summary>
    public static IReadOnlyList<string> Headings { get; } =
        ["Analysis of the Visual Features:", "Candidate Subcategories:", "Comparison Process:", "Final Prediction:"];

    /// <summary>
    /// The assistant turn for an image of <paramref name="truth"/> with <paramref name="candidates"/> (which include
    /// <paramref name="truth"/>; all of the same super-category) in the order they are listed.
    /// </summary>
    public static string Build(Species truth, IReadOnlyList<Species> candidates)
    {
        if (!candidates.Contains(truth)) throw new ArgumentException("the candidates must include the ground truth.", nameof(candidates));
        var sc = truth.SuperCategory;
        var noun = sc.Noun;
        var sb = new StringBuilder();
        sb.Append("<think> ").Append(Headings[0]).Append('\n');
        sb.Append($"The image shows a {noun} with the following visible features:\n");
        for (int a = 0; a < sc.Attributes.Count; a++)
            sb.Append($"- {sc.Attributes[a].Title}: {sc.Attributes[a].Describe(truth.Values[a])}\n");

        sb.Append("\n ").Append(Headings[1]).Append('\n');
        sb.Append($"Based on the visual features observed, the {noun} could belong to one of the following subcategories within the super-category of {sc.Key}:\n");
        for (int i = 0; i < candidates.Count; i++)
            sb.Append($"{i + 1}. {candidates[i].Name}: known for {TextJoin.List(candidates[i].Phrases)}.\n");
        sb.Append("\nThe analysis of candidate subcategories: \n");
        for (int i = 0; i < candidates.Count; i++) sb.Append($"{i + 1}. {candidates[i].Name}\n");

        sb.Append("\n ").Append(Headings[2]).Append('\n');
        foreach (var other in candidates.Where(c => c != truth))
        {
            var diffs = truth.DifferingAttributes(other);
            var theirs = TextJoin.List(diffs.Select(a => other.Value(a).Phrase).ToList());
            var ours = TextJoin.List(diffs.Select(a => truth.Value(a).Phrase).ToList());
            sb.Append($"- {truth.Name} vs. {other.Name}: The {other.Name} has {theirs}, but the {noun} in the image has {ours}, so it is not the {other.Name}.\n");
        }

        sb.Append("\n ").Append(Headings[3]).Append('\n');
        sb.Append($"The {noun} in the image shows {TextJoin.List(truth.Phrases)}, which matches the {truth.Name} in every feature.\n\n");
        sb.Append($"The prediction is: {truth.Name}</think>\n\n<answer>{truth.Name}</answer>");
        return sb.ToString();
    }
}
