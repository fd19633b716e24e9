namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>
/// Chooses the sub-categories of each super-category and their seen/unseen split.
/// <para>Species are grown by a seeded random walk over attribute combinations: each new species copies an existing
/// one and changes exactly one attribute, so every species has at least one one-attribute neighbour (a hard negative).
/// A few unrelated roots start separate clusters so all attribute values occur. The split is a seeded shuffle, redrawn
/// until every seen species also has a <em>seen</em> one-attribute neighbour (TAPO's negatives come from the seen
/// training images).</para>
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

    /// <summary>Number of seen species for <paramref name="n"/> species: round(n·fraction), at least 2 (TAPO needs a seen negative) and at most n−1.</summary>
    public static int SeenCount(int n, double fraction) =>
        Math.Clamp((int)Math.Round(n * fraction, MidpointRounding.AwayFromZero), 2, n - 1);

    private static List<int[]> GrowCodes(SuperCategory sc, int n, SynthRandom rng)
    {
        // A few unrelated roots ("genera", so every attribute value gets used), each given one child at once so
        // every species has a neighbour, then a random walk from any species.
        int roots = Math.Max(1, (n + 2) / 5);
        var codes = new List<int[]>();
        var seen = new HashSet<string>();
        while (codes.Count < roots)
        {
            var root = sc.Attributes.Select(a => rng.Next(a.Values.Count)).ToArray();
            if (seen.Add(Key(root))) codes.Add(root);
        }
        for (int r = 0; r < roots && codes.Count < n; r++) AddChild(codes[r]);
        while (codes.Count < n) AddChild(rng.Pick(codes));
        return codes;

        void AddChild(int[] parent)
        {
            while (true)
            {
                var child = (int[])parent.Clone();
                int attr = rng.Next(child.Length);
                int count = sc.Attributes[attr].Values.Count;
                child[attr] = (child[attr] + 1 + rng.Next(count - 1)) % count; // any other value
                if (seen.Add(Key(child))) { codes.Add(child); return; }
                if (codes.Count >= sc.Combinations) throw new InvalidOperationException("attribute combinations exhausted.");
            }
        }
    }

    private static string Key(int[] code) => string.Join(",", code);

    private static void Split(List<Species> species, double fraction, SynthRandom rng)
    {
        int seenCount = SeenCount(species.Count, fraction);
        var order = Enumerable.Range(0, species.Count).ToList();
        for (int attempt = 0; attempt < 5000; attempt++)
        {
            rng.Shuffle(order);
            var seen = order.Take(seenCount).ToHashSet();
            bool ok = seen.All(i => species[i].NeighboursIn(seen.Select(j => species[j])).Count > 0);
            if (!ok) continue;
            for (int i = 0; i < species.Count; i++) species[i].IsSeen = seen.Contains(i);
            return;
        }
        // No split gives every seen species a seen neighbour (only possible for tiny, oddly clustered worlds): keep the
        // last draw; TAPO then takes the nearest seen species as the negative.
        for (int i = 0; i < species.Count; i++) species[i].IsSeen = order.IndexOf(i) < seenCount;
    }
}
