using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;
using static FineR1.Experiments.Synthetic.Rendering.Painters;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>
/// An aircraft seen from above, nose up. Attributes (catalog order): 0 wing shape (straight/swept/delta), 1 engines
/// (2 under wings/4 under wings/2 at the rear), 2 tail layout (conventional/V-tail/canard), 3 livery stripe colour,
/// 4 nose (pointed/blunt).
/// </summary>
internal sealed class AircraftPainter : IObjectPainter
{
    public static readonly AircraftPainter Instance = new();

    public float MaxRotationDegrees => 180;

    public bool CanMirror => false;

    public void Paint(SKCanvas canvas, Species species, SynthRandom rng, float variation)
    {
        var v = species.Values;
        var skin = Palette.Jitter(rng.Pick(Palette.Fuselage), rng, 8 * variation);
        var livery = Palette.Livery(v[3], rng, variation);
        var engine = new SKColor(70, 72, 78);

        using (var tail = TailPath(v[2])) FillOutlined(canvas, tail, skin, 1f);
        using (var wings = WingPath(v[0])) FillOutlined(canvas, wings, skin, 1f);

        // Engine pods: under the wings at their quarter chord, or beside the rear fuselage.
        using (var pod = Fill(engine))
        {
            var spans = v[1] switch { 0 => new[] { 16f }, 1 => new[] { 13f, 27f }, _ => [] };
            foreach (var x in spans)
                foreach (var s in new[] { -1f, 1f })
                    canvas.DrawRoundRect(new SKRect(s * x - 3, LeadingEdge(v[0], x) - 5, s * x + 3, LeadingEdge(v[0], x) + 6), 3, 3, pod);
            if (v[1] == 2)
                foreach (var s in new[] { -1f, 1f })
                    canvas.DrawRoundRect(new SKRect(s * 9.5f - 3.5f, 18, s * 9.5f + 3.5f, 30), 3, 3, pod);
        }

        using (var fuselage = FuselagePath(v[4])) FillOutlined(canvas, fuselage, skin, 1f);
        using (var stripe = Stroke(livery, 3.2f)) canvas.DrawLine(0, -30, 0, 40, stripe);
        using (var cockpit = Fill(new SKColor(40, 50, 70))) canvas.DrawOval(new SKRect(-2.5f, -34, 2.5f, -29), cockpit);
    }

    private static SKPath FuselagePath(int nose)
    {
        var p = new SKPath();
        p.MoveTo(-5.5f, 42);
        p.LineTo(-5.5f, -32);
        if (nose == 0) { p.CubicTo(-5.5f, -40, -1.5f, -46, 0, -50); p.CubicTo(1.5f, -46, 5.5f, -40, 5.5f, -32); } // pointed
        else p.CubicTo(-5.5f, -40, 5.5f, -40, 5.5f, -32);                                                       // blunt
        p.LineTo(5.5f, 42);
        p.CubicTo(5.5f, 46, -5.5f, 46, -5.5f, 42);
        p.Close();
        return p;
    }

    // y of the wing's leading edge at span x (for engine placement).
    private static float LeadingEdge(int shape, float x) => shape switch
    {
        0 => -6 + x * 0.06f,
        1 => -8 + x * 0.5f,
        _ => -20 + x * 1.15f,
    };

    private static SKPath WingPath(int shape) => shape switch
    {
        0 => Polygon((-5, -6), (-46, -3), (-46, 5), (-5, 9), (5, 9), (46, 5), (46, -3), (5, -6)),              // straight
        1 => Polygon((-5, -8), (-44, 14), (-44, 21), (-5, 9), (5, 9), (44, 21), (44, 14), (5, -8)),            // swept
        _ => Polygon((-5, -22), (-42, 28), (-5, 30), (5, 30), (42, 28), (5, -22)),                              // delta
    };

    private static SKPath TailPath(int layout)
    {
        var p = new SKPath();
        switch (layout)
        {
            case 0: // conventional: horizontal stabilisers across the tail
                p.AddPoly([new(-4, 32), new(-18, 40), new(-18, 44), new(-4, 41), new(4, 41), new(18, 44), new(18, 40), new(4, 32)]);
                break;
            case 1: // V-tail: two slim surfaces raked sharply back
                p.AddPoly([new(-3, 32), new(-14, 48), new(-17, 47), new(-4, 40)]);
                p.AddPoly([new(3, 32), new(14, 48), new(17, 47), new(4, 40)]);
                break;
            default: // canard: foreplanes near the nose, no rear tailplane
                p.AddPoly([new(-4, -22), new(-16, -17), new(-16, -14), new(-4, -16), new(4, -16), new(16, -14), new(16, -17), new(4, -22)]);
                break;
        }
        return p;
    }
}
