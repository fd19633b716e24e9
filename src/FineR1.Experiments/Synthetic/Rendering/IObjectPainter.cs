using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>
/// Draws one object of a super-category in canonical coordinates: a 100×100 box centred on the origin (x right, y
/// down), the object within about ±48. The scene renderer places, rotates and scales it.
/// </summary>
internal interface IObjectPainter
{
    /// <summary>Largest rotation (degrees, either way) that still looks natural for this kind of object.</summary>
    float MaxRotationDegrees { get; }

    /// <summary>Whether a mirrored object is still natural (a bird facing left).</summary>
    bool CanMirror { get; }

    /// <summary>Draws <paramref name="species"/>; <paramref name="rng"/> drives nuisance details only (tones, jitter).</summary>
    void Paint(SKCanvas canvas, Species species, SynthRandom rng, float variation);
}

internal static class Painters
{
    public static IObjectPainter For(SuperCategoryKind kind) => kind switch
    {
        SuperCategoryKind.Birds => BirdPainter.Instance,
        SuperCategoryKind.Butterflies => ButterflyPainter.Instance,
        SuperCategoryKind.Aircraft => AircraftPainter.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static SKPaint Fill(SKColor c) => new() { IsAntialias = true, Style = SKPaintStyle.Fill, Color = c };

    public static SKPaint Stroke(SKColor c, float width) =>
        new() { IsAntialias = true, Style = SKPaintStyle.Stroke, Color = c, StrokeWidth = width, StrokeCap = SKStrokeCap.Round, StrokeJoin = SKStrokeJoin.Round };

    /// <summary>Fills <paramref name="path"/> and outlines it.</summary>
    public static void FillOutlined(SKCanvas canvas, SKPath path, SKColor fill, float outline = 1.2f)
    {
        using var f = Fill(fill);
        canvas.DrawPath(path, f);
        using var s = Stroke(Palette.Outline, outline);
        canvas.DrawPath(path, s);
    }

    public static SKPath Polygon(params (float X, float Y)[] points)
    {
        var p = new SKPath();
        p.MoveTo(points[0].X, points[0].Y);
        foreach (var (x, y) in points.Skip(1)) p.LineTo(x, y);
        p.Close();
        return p;
    }
}
