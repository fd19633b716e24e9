namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>
/// Generated, pronounceable, non-compositional names that read like real ones ("Varen Tanager", "Tessaro T-340"):
/// nothing in a name hints at the attributes, so the name–attribute link must be learnt from the world-knowledge facts.
/// </summary>
internal static class SpeciesNames
{
    private static readonly string[] Onsets = ["b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "pr", "tr", "th", "sh", "h", "sel", "cor", "v", "m"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "a", "e", "o", "ia", "ei", "ou", "i"];
    private static readonly string[] Codas = ["", "", "", "n", "r", "l", "s", "m", "th", "n", "nd", "rn"];

    private static readonly string[] BirdGroups = ["Tanager", "Warbler", "Finch", "Shrike", "Vireo", "Bunting", "Thrush", "Pipit", "Wren", "Sparrow", "Oriole", "Grosbeak"];
    private static readonly string[] ButterflyGroups = ["Skipper", "Fritillary", "Hairstreak", "Admiral", "Ringlet", "Satyr", "Emperor", "Nymph", "Metalmark", "Crescent"];

    /// <summary>A capitalised 2–3 syllable word of 4–9 letters ("Varen", "Lomira").</summary>
    public static string Word(SynthRandom rng)
    {
        while (true)
        {
            int syllables = rng.Chance(0.35) ? 3 : 2;
            var s = "";
            for (int i = 0; i < syllables; i++)
                s += rng.Pick(Onsets) + rng.Pick(Vowels) + (i == syllables - 1 ? rng.Pick(Codas) : "");
            if (s.Length is >= 4 and <= 9) return char.ToUpperInvariant(s[0]) + s[1..];
        }
    }

    /// <summary>
    /// <paramref name="count"/> names for <paramref name="kind"/>, none a case-insensitive substring of another or of
    /// <paramref name="taken"/> (the paper's scoring is substring containment, docs/method.md §5.2/§6.3), first words unique.
    /// </summary>
    public static List<string> Make(SuperCategoryKind kind, int count, SynthRandom rng, List<string> taken)
    {
        var names = new List<string>();
        var makers = kind == SuperCategoryKind.Aircraft ? Enumerable.Range(0, Math.Max(2, count / 4)).Select(_ => Word(rng)).ToList() : [];
        int guard = 0;
        while (names.Count < count)
        {
            if (++guard > 100_000) throw new InvalidOperationException("could not generate enough distinct species names.");
            string name = kind switch
            {
                SuperCategoryKind.Birds => $"{Word(rng)} {rng.Pick(BirdGroups)}",
                SuperCategoryKind.Butterflies => $"{Word(rng)} {rng.Pick(ButterflyGroups)}",
                _ => AircraftName(rng.Pick(makers), rng),
            };
            if (Clashes(name, taken, checkFirstWord: kind != SuperCategoryKind.Aircraft)) continue;
            names.Add(name);
            taken.Add(name);
        }
        return names;
    }

    private static string AircraftName(string maker, SynthRandom rng) =>
        $"{maker} {maker[0]}-{1 + rng.Next(9)}{rng.Next(10)}{(rng.Chance(0.5) ? "0" : "5")}";

    private static bool Clashes(string name, List<string> taken, bool checkFirstWord)
    {
        var lower = name.ToLowerInvariant();
        var first = lower.Split(' ')[0];
        foreach (var t in taken)
        {
            var other = t.ToLowerInvariant();
            if (other.Contains(lower) || lower.Contains(other)) return true;
            if (checkFirstWord && other.Split(' ')[0] == first) return true;
            // An aircraft maker word must not double as a bird/butterfly given name.
            if (other.Split(' ')[0] == first && (other.Contains('-') != lower.Contains('-'))) return true;
        }
        return false;
    }
}
