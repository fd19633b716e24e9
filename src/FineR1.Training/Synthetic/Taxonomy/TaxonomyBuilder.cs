namespace FineR1.Training.Synthetic.Taxonomy;

/// <summary>
/// Chooses the sub-categories of each super-category and their seen/unseen split.
/// <para>Species are grown by a seeded random walk over attribute combinations: each new species copies an existing
/// one and changes exactly one attribute, so every species has at least one one-attribute neighbour (a hard negative).
/// The split is a seeded shuffle, redrawn until every seen species also has a <em>seen</em> one-attribute neighbour
/// (TAPO's negatives come from the seen training images).</para>
/// </summary>
internal static class TaxonomyBuilder
{
    public static List<Species> Build(FgvrSynthOptions options)
    {
        var all = new List<Species>();
        var takenNames = new List<string>();
        for (int k = 0; k < options.SuperCategories.Count; k++)
        {
            var sc = SuperCategoryCatalog.Get(options.SuperCategories[k]);
            int n = options.SpeciesPerSuperCategory;
            var codes = GrowCodes(sc, n, SynthRandom.For(options.Seed, Streams.Taxonomy, (int)sc.Kind));
            var names = SpeciesNames.Make(sc.Kind, n, SynthRandom.For(options.Seed, Streams.Names, (int)sc.Kind), takenNames);
            var species = codes.Select((c, i) => new Species(all.Count + i, names[i], sc, c)).ToList();
            Split(species, options.SeenFraction, SynthRandom.For(options.Seed, Streams.Split, (int)sc.Kind));
            all.AddRange(species);
        }
        return all;
    }

    /// <summary>Number of seen species for <paramref name="n"/> species: round(n·fraction), at least 1 and at most n−1.</summary>
    public static int SeenCount(int n, double fraction) =>
        Math.Clamp((int)Math.Round(n * fraction, MidpointRounding.AwayFromZero), 1, n - 1);

    private static List<int[]> GrowCodes(SuperCategory sc, int n, SynthRandom rng)
    {
        var codes = new List<int[]> { sc.Attributes.Select(a => rng.Next(a.Values.Count)).ToArray() };
        var seen = new HashSet<string> { Key(codes[0]) };
        while (codes.Count < n)
        {
            var child = (int[])rng.Pick(codes).Clone();
            int attr = rng.Next(child.Length);
            int count = sc.Attributes[attr].Values.Count;
            child[attr] = (child[attr] + 1 + rng.Next(count - 1)) % count; // any other value
            if (seen.Add(Key(child))) codes.Add(child);
        }
        return codes;
    }

    private static string Key(int[] code) => string.Join(",", code);

    private static void Split(List<Species> species, double fraction, SynthRandom rng)
    {
        int seenCount = SeenCount(species.Count, fraction);
        var order = Enumerable.Range(0, species.Count).ToList();
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            rng.Shuffle(order);
            var seen = order.Take(seenCount).ToHashSet();
            bool ok = seen.All(i => seen.Any(j => j != i && species[i].Distance(species[j]) == 1));
            if (!ok) continue;
            for (int i = 0; i < species.Count; i++) species[i].IsSeen = seen.Contains(i);
            return;
        }
        // Fallback (never needed in practice): grow a connected seen set from a random species; the random walk made
        // the neighbour graph connected, so this always succeeds.
        var set = new List<int> { rng.Next(species.Count) };
        while (set.Count < seenCount)
        {
            var next = Enumerable.Range(0, species.Count)
                .Where(i => !set.Contains(i) && set.Any(j => species[i].Distance(species[j]) == 1)).ToList();
            set.Add(rng.Pick(next));
        }
        for (int i = 0; i < species.Count; i++) species[i].IsSeen = set.Contains(i);
    }
}
