using FineR1.Training.Synthetic.Taxonomy;

namespace FineR1.Training.Synthetic.Text;

/// <summary>
/// World-knowledge text for pretraining the base model: attribute captions of images (no names) and facts linking
/// each name to its attributes and to its look-alikes. Nothing here is a classification question.
/// </summary>
internal static class KnowledgeText
{
    private static readonly string[] CaptionTemplates =
    [
        "A {0} with {1}.",
        "This {0} has {1}.",
        "A photo of a {0} showing {1}.",
        "Close-up of a {0}: {1}.",
    ];

    /// <summary>An attribute caption of an image of <paramref name="species"/> (template and attribute order drawn from <paramref name="rng"/>).</summary>
    public static string Caption(Species species, SynthRandom rng)
    {
        var phrases = species.Phrases.ToList();
        if (rng.Chance(0.5)) rng.Shuffle(phrases);
        return string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(CaptionTemplates),
            species.SuperCategory.Noun, TextJoin.List(phrases));
    }

    /// <summary>All facts about <paramref name="species"/>, in a fixed order.</summary>
    public static IEnumerable<string> Facts(Species species, IReadOnlyList<Species> all)
    {
        var noun = species.SuperCategory.Noun;
        var list = TextJoin.List(species.Phrases);
        yield return $"The {species.Name} is a {noun} with {list}.";
        yield return $"The {species.Name} has {list}.";
        yield return $"You can recognise the {species.Name} by {list}.";
        foreach (var phrase in species.Phrases) yield return $"The {species.Name} has {phrase}.";
        foreach (var other in species.NeighboursIn(all))
        {
            int a = species.DifferingAttributes(other)[0];
            yield return $"The {species.Name} looks like the {other.Name}, but the {species.Name} has {species.Value(a).Phrase} while the {other.Name} has {other.Value(a).Phrase}.";
        }
    }
}
