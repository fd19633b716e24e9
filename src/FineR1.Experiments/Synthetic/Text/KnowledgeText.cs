using FineR1.Experiments.Synthetic.Taxonomy;

namespace FineR1.Experiments.Synthetic.Text;

/// <summary>
/// World-knowledge text for pretraining the base model: attribute captions of images (no names) and facts linking
/// each name to its attributes and to its look-alikes. Nothing here is a classification question.
/// </summary>
/// <remarks>
/// The sentences are the building blocks of the chain of thought (<see cref="Rationale"/>): the caption is its visual
/// analysis, the "a … with … is the NAME" fact its candidate step, the look-alike fact its comparison. A tiny model
/// learns each block for every species here (seen and unseen); CoT SFT on seen species then only has to teach the
/// order of the blocks — which is why the reasoning transfers to unseen species and a direct answer does not.
/// Facts come in both directions ("the NAME is a … with …" and "a … with … is the NAME"): a language model trained on
/// one direction does not learn the other (the "reversal curse", Berglund et al. 2023), and recognition needs the second.
/// </remarks>
internal static class KnowledgeText
{
    /// <summary>"A bird with an emerald crown, …, and a short beak" — the attributes in their fixed order.</summary>
    public static string Description(Species species) =>
        $"A {species.SuperCategory.Noun} with {TextJoin.List(species.Phrases)}";

    /// <summary>The attribute caption of an image of <paramref name="species"/>: <see cref="Description"/> and a full stop.</summary>
    public static string Caption(Species species) => Description(species) + ".";

    /// <summary>"A bird with … is the NAME." (attributes → name: the recognition direction).</summary>
    public static string Recognition(Species species) => $"{Description(species)} is the {species.Name}.";

    /// <summary>"The NAME looks like the OTHER, but the OTHER has PHRASE." (the first attribute in which they differ).</summary>
    public static string LookAlike(Species species, Species other)
    {
        int a = species.DifferingAttributes(other)[0];
        return $"The {species.Name} looks like the {other.Name}, but the {other.Name} has {other.Value(a).Phrase}.";
    }

    /// <summary>All facts about <paramref name="species"/>, in a fixed order.</summary>
    public static IEnumerable<string> Facts(Species species, IReadOnlyList<Species> all)
    {
        var noun = species.SuperCategory.Noun;
        var list = TextJoin.List(species.Phrases);
        yield return $"The {species.Name} is a {noun} with {list}.";
        yield return $"The {species.Name} has {list}.";
        yield return Recognition(species);
        foreach (var phrase in species.Phrases) yield return $"The {species.Name} has {phrase}.";
        foreach (var other in species.NeighboursIn(all)) yield return LookAlike(species, other);
    }
}
