using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;
using static FineR1.Experiments.Synthetic.Rendering.Painters;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>
/// A butterfly seen from above, head up. Attributes (catalog order): 0 wing colour, 1 wing tips (black/plain),
/// 2 hindwing shape (rounded/tailed/scalloped), 3 spot pattern (none/hindwing eyespots/forewing margin dots).
/// Wings are polar shapes around a pivot on the body; the right side is drawn, then mirrored.
/// </summary>
internal sealed class ButterflyPainter : IObjectPainter
{
    public static readonly ButterflyPainter Instance = new();

    public float MaxRotationDegrees => 35;

    public bool CanMirror => false;

    private static readonly SKPoint ForePivot = new(2, -6), HindPivot = new(2, 2);

    public void Paint(SKCanvas canvas, Species species, SynthRandom rng, float variation)
    {
        var v = species.Values;
        var wing = Palette.Jitter(Palette.ButterflyWing[v[0]], rng, 10 * variation);
        var hind = Palette.Shade(wing, 0.86f);
        var bodyColour = Palette.Jitter(new SKColor(45, 38, 32), rng, 10 * variation);
        float open = 1 - rng.Range(0, 0.22f) * variation; // wing-flap perspective: narrower wings

        for (int side = 0; side < 2; side++)
        {
            canvas.Save();
            if (side == 1) canvas.Scale(-1, 1);
            canvas.Scale(open, 1);

            using var hindPath = HindwingPath(v[2]);
            FillOutlined(canvas, hindPath, hind);
            if (v[3] == 1)
            {
                var c = Polar(HindPivot, 50, 16);
                using (var ring = Fill(new SKColor(20, 20, 20))) canvas.DrawCircle(c, 5.6f, ring);
                using (var iris = Fill(new SKColor(250, 215, 60))) canvas.DrawCircle(c, 3.6f, iris);
                using (var pupil = Fill(new SKColor(20, 20, 20))) canvas.DrawCircle(c, 1.6f, pupil);
            }

            using var forePath = ForewingPath();
            FillOutlined(canvas, forePath, wing);
            canvas.Save();
            canvas.ClipPath(forePath, SKClipOperation.Intersect, true);
            if (v[1] == 0)
                using (var tip = Fill(new SKColor(22, 20, 20))) canvas.DrawCircle(Polar(ForePivot, -58, 46), 17, tip);
            canvas.Restore();
            if (v[3] == 2)
            {
                using var dot = Fill(SKColors.White);
                using var ring = Stroke(new SKColor(20, 20, 20), 1.3f);
                foreach (var angle in new[] { -88f, -72f, -56f, -40f, -24f })
                {
                    var c = Polar(ForePivot, angle, ForewingRadius(angle) - 5);
                    canvas.DrawCircle(c, 2.4f, dot);
                    canvas.DrawCircle(c, 2.4f, ring);
                }
            }
            canvas.Restore();
        }

        // Body, head and antennae.
        using (var antenna = Stroke(bodyColour, 1.1f))
        using (var club = Fill(bodyColour))
            foreach (var s in new[] { -1f, 1f })
            {
                canvas.DrawLine(s * 1, -24, s * 10, -40, antenna);
                canvas.DrawCircle(s * 10, -40, 1.8f, club);
            }
        using (var b = Fill(bodyColour))
        {
            canvas.DrawOval(new SKRect(-3.5f, -20, 3.5f, 22), b);
            canvas.DrawCircle(0, -22, 4, b);
        }
    }

    private static SKPoint Polar(SKPoint pivot, float degrees, float r)
    {
        double a = degrees * Math.PI / 180;
        return new SKPoint(pivot.X + r * (float)Math.Cos(a), pivot.Y + r * (float)Math.Sin(a));
    }

    // Forewing outline radius over angles −105° (up) … −5° (right); longest near −55°.
    private static float ForewingRadius(float degrees)
    {
        double t = (degrees + 105) / 100.0;
        return 16 + 30 * (float)Math.Pow(Math.Sin(Math.PI * t), 0.6);
    }

    private static SKPath ForewingPath()
    {
        var p = new SKPath();
        p.MoveTo(ForePivot);
        for (float a = -105; a <= -5; a += 2.5f) p.LineTo(Polar(ForePivot, a, ForewingRadius(a)));
        p.Close();
        return p;
    }

    // Hindwing over angles −5° … 105° (down); rounded lobe, a tail near 80° or a scalloped (wavy) edge.
    private static SKPath HindwingPath(int shape)
    {
        var p = new SKPath();
        p.MoveTo(HindPivot);
        for (float a = -5; a <= 105; a += 1.5f)
        {
            double t = (a + 5) / 110.0;
            float r = 12 + 18 * (float)Math.Pow(Math.Sin(Math.PI * t), 0.5);
            if (shape == 1) r += 17 * (float)Math.Exp(-Math.Pow((a - 78) / 5.0, 2));
            if (shape == 2) r -= 4.5f * (float)Math.Abs(Math.Sin((a + 5) * Math.PI / 22));
            p.LineTo(Polar(HindPivot, a, r));
        }
        p.Close();
        return p;
    }
}
