namespace FineR1.Experiments.Synthetic;

/// <summary>
/// A small SplitMix64 generator: the same seed gives the same stream on every .NET version and platform (unlike
/// <see cref="Random"/>, whose seeded algorithm is an implementation detail). Independent streams are derived from a
/// seed plus stream ids (<see cref="For"/>), so every image draws its own numbers and rendering order does not matter.
/// </summary>
internal sealed class SynthRandom
{
    private ulong _state;

    private SynthRandom(ulong state) => _state = state;

    /// <summary>A stream for <paramref name="seed"/> and the ids that name what it is used for.</summary>
    /// <example><c>SynthRandom.For(seed, Streams.Image, speciesIndex, poolIndex, imageIndex)</c></example>
    public static SynthRandom For(int seed, params ReadOnlySpan<int> stream)
    {
        ulong h = Mix((ulong)(uint)seed ^ 0x5EED_F6B2_0000_0001UL);
        foreach (var id in stream) h = Mix(h ^ ((ulong)(uint)id + 0x9E37_79B9_7F4A_7C15UL));
        return new SynthRandom(h);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64() => Mix(_state += 0x9E37_79B9_7F4A_7C15UL);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        return (int)(NextUInt64() % (ulong)n);
    }

    /// <summary>Uniform in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public float Range(float lo, float hi) => lo + (float)NextDouble() * (hi - lo);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>
    /// Approximately standard normal from one 64-bit draw: the sum of four 16-bit uniforms (Irwin–Hall), centred and
    /// scaled to unit variance; range ±3.46. Cheap enough for per-pixel noise.
    /// </summary>
    public float ApproxGaussian()
    {
        ulong r = NextUInt64();
        uint sum = (uint)(r & 0xFFFF) + (uint)((r >> 16) & 0xFFFF) + (uint)((r >> 32) & 0xFFFF) + (uint)(r >> 48);
        return (sum / 65536f - 2f) * 1.7320508f; // variance of the sum of 4 U(0,1) is 1/3
    }

    /// <summary>A uniformly chosen element.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

/// <summary>Stream ids for <see cref="SynthRandom.For"/> (one per purpose, so adding draws to one never shifts another).</summary>
internal static class Streams
{
    // Text (5) is no longer drawn from (captions are canonical); the numbers stay so every other stream keeps its seeds.
    public const int Taxonomy = 1, Names = 2, Split = 3, Image = 4, Text = 5, Sft = 6, Tapo = 7, Eval = 8;
}
