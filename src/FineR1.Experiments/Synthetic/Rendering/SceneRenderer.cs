using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;

namespace FineR1.Experiments.Synthetic.Rendering;

/// <summary>
/// Renders one image of a species: a cluttered gradient background, the object at a random pose, scale and position,
/// then lighting (brightness, contrast, colour cast) and pixel noise. All nuisance draws come from the image's own
/// random stream, so an image depends only on (seed, species, pool, index). Pose ranges keep the whole object (and so
/// every attribute) inside the frame.
/// </summary>
internal static class SceneRenderer
{
    /// <summary>The image as PNG bytes (RGB, opaque).</summary>
    public static byte[] RenderPng(Species species, int size, float variation, SynthRandom rng)
    {
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            float unit = size / 100f;
            canvas.Scale(unit);
            DrawBackground(canvas, rng, variation);

            var painter = Painters.For(species.SuperCategory.Kind);
            float scale = 1 - rng.Range(0, 0.22f) * variation;
            float room = (1 - scale) * 50 + 2;     // shift that keeps the ±48 object inside the frame
            float dx = rng.Range(-room, room) * variation, dy = rng.Range(-room, room) * variation;
            float angle = rng.Range(-1, 1) * painter.MaxRotationDegrees * variation;
            bool mirror = painter.CanMirror && variation > 0 && rng.Chance(0.5);
            if (painter.MaxRotationDegrees > 45) scale *= 0.92f; // a rotated long silhouette needs its diagonal

            canvas.Save();
            canvas.Translate(50 + dx, 50 + dy);
            canvas.RotateDegrees(angle);
            canvas.Scale(mirror ? -scale : scale, scale);
            painter.Paint(canvas, species, rng, variation);
            canvas.Restore();
        }
        ApplyLightingAndNoise(bitmap, rng, variation);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void DrawBackground(SKCanvas canvas, SynthRandom rng, float variation)
    {
        var a = Palette.Muted(rng, 0.45f, 0.9f);
        var b = variation > 0 ? Palette.Muted(rng, 0.35f, 0.85f) : a;
        double angle = rng.NextDouble() * 2 * Math.PI;
        var start = new SKPoint(50 - 50 * (float)Math.Cos(angle), 50 - 50 * (float)Math.Sin(angle));
        var end = new SKPoint(50 + 50 * (float)Math.Cos(angle), 50 + 50 * (float)Math.Sin(angle));
        using (var shader = SKShader.CreateLinearGradient(start, end, [a, b], null, SKShaderTileMode.Clamp))
        using (var paint = new SKPaint { Shader = shader })
            canvas.DrawRect(new SKRect(0, 0, 100, 100), paint);

        // Clutter: soft blobs and twigs in muted colours.
        int blobs = (int)Math.Round(rng.Range(2, 7) * variation);
        for (int i = 0; i < blobs; i++)
        {
            using var paint = Painters.Fill(Palette.Muted(rng, 0.3f, 0.9f, 0.3f, (byte)(40 + rng.Next(80))));
            var c = new SKPoint(rng.Range(0, 100), rng.Range(0, 100));
            canvas.DrawOval(c, new SKSize(rng.Range(5, 22), rng.Range(4, 16)), paint);
        }
        int twigs = (int)Math.Round(rng.Range(0, 4) * variation);
        for (int i = 0; i < twigs; i++)
        {
            using var paint = Painters.Stroke(Palette.Muted(rng, 0.25f, 0.6f, 0.3f, (byte)(90 + rng.Next(100))), rng.Range(0.8f, 2.2f));
            var p = new SKPoint(rng.Range(0, 100), rng.Range(0, 100));
            var q = new SKPoint(p.X + rng.Range(-40, 40), p.Y + rng.Range(-40, 40));
            canvas.DrawLine(p, q, paint);
        }
    }

    private static unsafe void ApplyLightingAndNoise(SKBitmap bitmap, SynthRandom rng, float variation)
    {
        float contrast = 1 + rng.Range(-0.2f, 0.15f) * variation;
        float brightness = rng.Range(-22, 22) * variation;
        float castR = rng.Range(-10, 10) * variation, castG = rng.Range(-10, 10) * variation, castB = rng.Range(-10, 10) * variation;
        float sigma = rng.Range(1.5f, 9f) * variation;
        byte* p = (byte*)bitmap.GetPixels();
        int n = bitmap.Width * bitmap.Height;
        for (int i = 0; i < n; i++, p += 4)
        {
            float noise = sigma > 0 ? rng.ApproxGaussian() * sigma : 0;
            p[0] = Clamp((p[0] - 128) * contrast + 128 + brightness + castR + noise);
            p[1] = Clamp((p[1] - 128) * contrast + 128 + brightness + castG + noise);
            p[2] = Clamp((p[2] - 128) * contrast + 128 + brightness + castB + noise);
            p[3] = 255;
        }
    }

    private static byte Clamp(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);
}
