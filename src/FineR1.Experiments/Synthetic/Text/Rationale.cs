using System.Text;
using FineR1.Experiments.Synthetic.Taxonomy;

namespace FineR1.Experiments.Synthetic.Text;

/// <summary>
/// The Stage-1 chain of thought in the paper's four parts (docs/method.md §4.2), each opened by its heading inside
/// <c>&lt;think&gt;</c> — visual analysis, candidate sub-categories, comparison, final prediction ending in
/// "The prediction is: X" — then <c>&lt;/think&gt;\n\n&lt;answer&gt;X&lt;/answer&gt;</c>.
/// </summary>
/// <remarks>
/// About 75 tokens, so a 2-layer model trained for a minute on a CPU can write it without losing its place. Each part is
/// a world-knowledge sentence of the pretraining corpus (<see cref="KnowledgeText"/>), so the reasoning composes what the
/// base model knows about every species, seen or not: the visual analysis is the image's attribute caption, which
/// continues as the recognition fact "… is the NAME"; the candidates are the answer and its nearest look-alike (a
/// look-alike fact); the comparison rules the look-alike out by the attribute in which they differ.
/// <code>
/// &lt;think&gt; Analysis of the Visual Features: A bird with an emerald crown, …, and a short beak is the Vicorith Wren.
///
/// Candidate Subcategories: The Vicorith Wren looks like the Goumasind Finch, but the Goumasind Finch has a plain breast.
///
/// Comparison Process: The bird in the image has a spotted breast, so it is not the Goumasind Finch.
///
/// Final Prediction: The prediction is: Vicorith Wren&lt;/think&gt;
///
/// &lt;answer&gt;Vicorith Wren&lt;/answer&gt;
/// </code>
/// </remarks>
public static class Rationale
{
    /// <summary>Section headings, in order.</summary>
    public static IReadOnlyList<string> Headings { get; } =
        ["Analysis of the Visual Features:", "Candidate Subcategories:", "Comparison Process:", "Final Prediction:"];

    /// <summary>
    /// The assistant turn for an image of <paramref name="truth"/>; the candidate step names the truth and its nearest
    /// look-alike among <paramref name="candidates"/> (which include <paramref name="truth"/>; all of the same super-category).
    /// </summary>
    public static string Build(Species truth, IReadOnlyList<Species> candidates)
    {
        if (!candidates.Contains(truth)) throw new ArgumentException("the candidates must include the ground truth.", nameof(candidates));
        var lookAlike = candidates.Where(c => c != truth).OrderBy(truth.Distance).FirstOrDefault();
        var sb = new StringBuilder();
        sb.Append("<think> ").Append(Headings[0]).Append(' ').Append(KnowledgeText.Recognition(truth));
        sb.Append("\n\n").Append(Headings[1]);
        if (lookAlike is not null)
        {
            int a = truth.DifferingAttributes(lookAlike)[0];
            sb.Append(' ').Append(KnowledgeText.LookAlike(truth, lookAlike));
            sb.Append("\n\n").Append(Headings[2]).Append($" The {truth.SuperCategory.Noun} in the image has {truth.Value(a).Phrase}, so it is not the {lookAlike.Name}.");
        }
        else sb.Append($" The {truth.Name}.\n\n").Append(Headings[2]).Append($" No other {truth.SuperCategory.Noun} has all of these features.");
        sb.Append("\n\n").Append(Headings[3]).Append($" The prediction is: {truth.Name}</think>\n\n<answer>{truth.Name}</answer>");
        return sb.ToString();
    }
}
