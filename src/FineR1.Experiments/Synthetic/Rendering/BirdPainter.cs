using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;
using static FineR1.Experiments.Synthetic.Rendering.Painters;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>
/// A perched songbird facing right. Attributes (catalog order): 0 crown colour, 1 wing bars (0/1/2), 2 breast pattern
/// (plain/streaked/spotted), 3 tail shape (forked/rounded/pointed), 4 beak length (short/long).
/// </summary>
internal sealed class BirdPainter : IObjectPainter
{
    public static readonly BirdPainter Instance = new();

    public float MaxRotationDegrees => 20;

    public bool CanMirror => true;

    public void Paint(SKCanvas canvas, Species species, SynthRandom rng, float variation)
    {
        var v = species.Values;
        var body = Palette.Jitter(rng.Pick(Palette.BirdBody), rng, 12 * variation);
        var wing = Palette.Shade(body, 0.68f);
        var breast = Palette.Jitter(rng.Pick(Palette.BirdBreast), rng, 8 * variation);
        var beakColour = rng.Chance(0.5) ? new SKColor(60, 58, 55) : new SKColor(200, 170, 90);
        float tilt = rng.Range(-8, 8) * variation;

        // Perch and legs, behind the body.
        using (var perch = Stroke(Palette.Jitter(new SKColor(100, 72, 45), rng, 15 * variation), 4.5f))
            canvas.DrawLine(-44, 25 + rng.Range(-2, 2) * variation, 44, 25 + rng.Range(-2, 2) * variation, perch);
        using (var legs = Stroke(new SKColor(70, 60, 50), 1.6f))
        {
            canvas.DrawLine(-1, 12, -3, 25, legs);
            canvas.DrawLine(6, 12, 7, 25, legs);
        }

        canvas.Save();
        canvas.RotateDegrees(tilt, 0, 4);
        using (var tail = TailPath(v[3])) FillOutlined(canvas, tail, wing);

        var bodyRect = new SKRect(-26, -13, 22, 17);
        using var bodyPath = new SKPath();
        bodyPath.AddOval(bodyRect);
        FillOutlined(canvas, bodyPath, body);

        // Breast patch and its pattern, clipped to the body.
        canvas.Save();
        canvas.ClipPath(bodyPath, SKClipOperation.Intersect, true);
        using (var b = Fill(breast)) canvas.DrawOval(new SKRect(-8, -4, 26, 22), b);
        DrawBreastPattern(canvas, v[2], rng, variation);
        canvas.Restore();

        // Wing with 0, 1 or 2 white bars across it.
        canvas.Save();
        canvas.RotateDegrees(-12, -6, -1);
        using var wingPath = new SKPath();
        wingPath.AddOval(new SKRect(-24, -9, 10, 8));
        FillOutlined(canvas, wingPath, wing);
        canvas.ClipPath(wingPath, SKClipOperation.Intersect, true);
        using (var bar = Stroke(new SKColor(250, 250, 250), 4.2f))
        {
            if (v[1] >= 1) canvas.DrawLine(-1, -10, -5, 10, bar);
            if (v[1] >= 2) canvas.DrawLine(-11, -10, -15, 10, bar);
        }
        canvas.Restore();
        canvas.Restore();

        // Head, crown (top of the head), eye and beak.
        var head = new SKPoint(19, -16);
        using var headPath = new SKPath();
        headPath.AddCircle(head.X, head.Y, 11.5f);
        using (var beak = BeakPath(head, v[4])) FillOutlined(canvas, beak, beakColour, 1f);
        FillOutlined(canvas, headPath, body);
        canvas.Save();
        canvas.ClipPath(headPath, SKClipOperation.Intersect, true);
        using (var crown = Fill(Palette.BirdCrown[v[0]])) canvas.DrawRect(new SKRect(head.X - 14, head.Y - 14, head.X + 14, head.Y - 2.5f), crown);
        canvas.Restore();
        using (var outline = Stroke(Palette.Outline, 1.2f)) canvas.DrawPath(headPath, outline);
        using (var eyeWhite = Fill(SKColors.White)) canvas.DrawCircle(head.X + 5, head.Y + 1.5f, 2.6f, eyeWhite);
        using (var eye = Fill(SKColors.Black)) canvas.DrawCircle(head.X + 5.4f, head.Y + 1.5f, 1.6f, eye);
    }

    private static SKPath TailPath(int shape) => shape switch
    {
        0 => Polygon((-20, -6), (-47, -16), (-36, -2), (-47, 10), (-20, 6)),                    // forked: deep V notch
        1 => RoundedTail(),                                                                    // rounded fan
        _ => Polygon((-20, -6), (-50, 1), (-20, 6)),                                            // pointed: one tip
    };

    private static SKPath RoundedTail()
    {
        var p = new SKPath();
        p.MoveTo(-20, -6);
        p.LineTo(-36, -12);
        p.CubicTo(-48, -10, -48, 10, -36, 12);
        p.LineTo(-20, 6);
        p.Close();
        return p;
    }

    private static SKPath BeakPath(SKPoint head, int length)
    {
        float l = length == 0 ? 7 : 19;
        float x = head.X + 9.5f;
        return Polygon((x - 2, head.Y - 3.5f), (x + l, head.Y + 0.5f), (x - 2, head.Y + 3.5f));
    }

    private static void DrawBreastPattern(SKCanvas canvas, int pattern, SynthRandom rng, float variation)
    {
        if (pattern == 0) return;
        using var mark = Fill(Palette.Mark);
        using var streak = Stroke(Palette.Mark, 2f);
        for (int row = 0; row < 3; row++)
            for (int col = 0; col < 4; col++)
            {
                float x = 0 + col * 6 + (row % 2) * 3 + rng.Range(-1, 1) * variation;
                float y = 0 + row * 6 + rng.Range(-1, 1) * variation;
                if (pattern == 1) canvas.DrawLine(x, y - 2.5f, x - 0.8f, y + 3.5f, streak);
                else canvas.DrawCircle(x, y, 1.9f, mark);
            }
    }
}
