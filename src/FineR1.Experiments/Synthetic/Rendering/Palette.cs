using SkiaSharp;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>Colours of attribute values (index-aligned with <see cref="Taxonomy.SuperCategoryCatalog"/>) and nuisance palettes.</summary>
internal static class Palette
{
    /// <summary>Bird crown colours: crimson, golden, azure, black, white, emerald.</summary>
    public static readonly SKColor[] BirdCrown =
        [new(200, 16, 46), new(242, 183, 5), new(30, 136, 229), new(20, 20, 20), new(248, 248, 248), new(16, 163, 90)];

    /// <summary>Butterfly wing colours: orange, blue, yellow, white, scarlet, green.</summary>
    public static readonly SKColor[] ButterflyWing =
        [new(245, 130, 20), new(40, 110, 230), new(250, 220, 40), new(245, 245, 240), new(215, 25, 35), new(40, 170, 70)];

    /// <summary>Aircraft livery stripe colours: red, blue, green, orange, purple, black.</summary>
    public static readonly SKColor[] AircraftLivery =
        [new(210, 30, 30), new(30, 80, 210), new(30, 150, 60), new(245, 140, 20), new(130, 50, 170), new(20, 20, 20)];

    /// <summary>Nuisance: bird body tones (brown, grey, tan, slate, olive-brown).</summary>
    public static readonly SKColor[] BirdBody =
        [new(120, 94, 70), new(128, 128, 120), new(150, 130, 95), new(95, 105, 118), new(112, 102, 78)];

    /// <summary>Nuisance: bird breast tones (cream, buff, pale grey, off-white).</summary>
    public static readonly SKColor[] BirdBreast =
        [new(236, 226, 200), new(226, 206, 170), new(215, 215, 210), new(244, 242, 236)];

    /// <summary>Nuisance: aircraft fuselage tones (white, light grey, silver, cream).</summary>
    public static readonly SKColor[] Fuselage =
        [new(246, 246, 246), new(215, 218, 222), new(190, 195, 200), new(240, 234, 218)];

    /// <summary>Outline colour of drawn parts.</summary>
    public static readonly SKColor Outline = new(30, 28, 26);

    /// <summary>Dark marks (streaks, spots).</summary>
    public static readonly SKColor Mark = new(55, 40, 30);

    /// <summary><paramref name="c"/> with each channel moved by up to ±<paramref name="amount"/>.</summary>
    public static SKColor Jitter(SKColor c, SynthRandom rng, double amount)
    {
        byte J(byte v) => (byte)Math.Clamp(v + (int)Math.Round((rng.NextDouble() * 2 - 1) * amount), 0, 255);
        return new SKColor(J(c.Red), J(c.Green), J(c.Blue), c.Alpha);
    }

    /// <summary><paramref name="c"/> scaled towards black by <paramref name="factor"/> (0.8 = 20 % darker).</summary>
    public static SKColor Shade(SKColor c, float factor) =>
        new((byte)(c.Red * factor), (byte)(c.Green * factor), (byte)(c.Blue * factor), c.Alpha);

    /// <summary>A muted colour (low saturation) for backgrounds and clutter, so it never mimics an attribute colour.</summary>
    public static SKColor Muted(SynthRandom rng, float minValue, float maxValue, float maxSaturation = 0.35f, byte alpha = 255)
    {
        var c = SKColor.FromHsv(rng.Range(0, 360), rng.Range(0.05f, maxSaturation) * 100, rng.Range(minValue, maxValue) * 100);
        return c.WithAlpha(alpha);
    }

    /// <summary>Livery stripe colour <paramref name="index"/>, slightly jittered.</summary>
    public static SKColor Livery(int index, SynthRandom rng, float variation) => Jitter(AircraftLivery[index], rng, 10 * variation);
}
