namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>One value of a fine attribute.</summary>
/// <param name="Word">The value as it reads in the attribute's sentence ("crimson", "forked").</param>
/// <param name="Phrase">The value as a noun phrase for captions and comparisons ("a crimson crown", "double white wing bars").</param>
public sealed record AttributeValue(string Word, string Phrase);

/// <summary>
/// A fine attribute that tells sub-categories apart (e.g. a bird's crown colour). Every sub-category has exactly one
/// value of every attribute of its super-category; the rendered image always shows it.
/// </summary>
/// <param name="Name">Lower-case name ("crown colour").</param>
/// <param name="Sentence">How the visual analysis states the value; <c>{0}</c> is <see cref="AttributeValue.Word"/> ("The crown is {0}.").</param>
/// <param name="Values">The possible values, in a fixed order (a sub-category stores indices into it).</param>
public sealed record SynthAttribute(string Name, string Sentence, IReadOnlyList<AttributeValue> Values)
{
    /// <summary>The visual-analysis sentence for value <paramref name="index"/>.</summary>
    public string Describe(int index) => string.Format(System.Globalization.CultureInfo.InvariantCulture, Sentence, Values[index].Word);

    /// <summary>The name with a capital first letter, for list headings ("Crown colour").</summary>
    public string Title => char.ToUpperInvariant(Name[0]) + Name[1..];
}
