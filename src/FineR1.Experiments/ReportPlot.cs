using SkiaSharp;

namespace FineR1.Experiments;

/// <summary>
/// Draws results.png with SkiaSharp: accuracy bars per stage (left) and training curves (right). Text is drawn with
/// <see cref="SKTypeface.Default"/> when the platform has a font; the Markdown report explains the layout either way.
/// </summary>
public static class ReportPlot
{
    private static readonly SKColor[] BarColors =
        [new(0x1f, 0x77, 0xb4), new(0xae, 0xc7, 0xe8), new(0xd6, 0x27, 0x28), new(0xff, 0x98, 0x96)];

    private static readonly SKColor[] CurveColors =
        [new(0x55, 0x55, 0x55), new(0x2c, 0xa0, 0x2c), new(0x94, 0x67, 0xbd), new(0xff, 0x7f, 0x0e), new(0x8c, 0x56, 0x4b)];

    /// <summary>Writes the plot to <paramref name="path"/> (PNG, 1200×500).</summary>
    public static void Draw(ExperimentResult result, string path)
    {
        const int width = 1200, height = 500;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1, Style = SKPaintStyle.Stroke };

        // Left: bars, y = 0..100 %.
        var bars = new SKRect(60, 40, 600, 420);
        canvas.DrawText("Accuracy (%) per stage: closed seen / closed unseen / open seen / open unseen", 60, 25, font, text);
        for (int y = 0; y <= 100; y += 25)
        {
            float py = bars.Bottom - bars.Height * y / 100f;
            canvas.DrawLine(bars.Left, py, bars.Right, py, grid);
            canvas.DrawText(y.ToString(), bars.Left - 30, py + 4, font, text);
        }
        using (var chance = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1, Style = SKPaintStyle.Stroke, PathEffect = SKPathEffect.CreateDash([6, 4], 0) })
            canvas.DrawLine(bars.Left, bars.Bottom - bars.Height * 0.25f, bars.Right, bars.Bottom - bars.Height * 0.25f, chance);
        var stages = result.Stages;
        float slot = bars.Width / Math.Max(1, stages.Count);
        for (int i = 0; i < stages.Count; i++)
        {
            var s = stages[i];
            double?[] values = [s.ClosedWorld?.Seen, s.ClosedWorld?.Unseen, s.OpenWorld?.Seen, s.OpenWorld?.Unseen];
            float bw = slot * 0.8f / values.Length;
            for (int k = 0; k < values.Length; k++)
            {
                float x = bars.Left + i * slot + slot * 0.1f + k * bw;
                if (values[k] is not { } v)
                {
                    using var cross = new SKPaint { Color = SKColors.LightGray, StrokeWidth = 2, Style = SKPaintStyle.Stroke };
                    canvas.DrawLine(x + 2, bars.Bottom - 4, x + bw - 2, bars.Bottom - 14, cross);
                    continue;
                }
                using var fill = new SKPaint { Color = BarColors[k], Style = SKPaintStyle.Fill };
                float top = bars.Bottom - bars.Height * (float)Math.Clamp(v, 0, 100) / 100f;
                canvas.DrawRect(new SKRect(x, top, x + bw - 1, bars.Bottom), fill);
            }
            canvas.DrawText(s.Name, bars.Left + i * slot + slot * 0.1f, bars.Bottom + 18, font, text);
        }
        canvas.DrawRect(bars, axis);

        // Right: curves one after another; losses on the left scale, rewards (0..1) share it.
        var plot = new SKRect(680, 40, 1170, 420);
        canvas.DrawText("Training curves: loss (TAPO: reward) per step, pretraining then each stage", 680, 25, font, text);
        var curves = new List<(string Name, IReadOnlyList<CurvePoint> Points)> { ("pretraining", result.PretrainingCurve) };
        // One line per stage: its loss, or for TAPO its reward (the accuracy points are in metrics.json only).
        curves.AddRange(stages.Select(s => (s.Name, (IReadOnlyList<CurvePoint>)s.Curve.Where(p => p.Metric != "accuracy").ToList()))
            .Where(c => c.Item2.Count > 0));
        double max = Math.Max(1e-6, curves.SelectMany(c => c.Points).Select(p => p.Value).DefaultIfEmpty(1).Max());
        for (int q = 0; q <= 4; q++)
        {
            float py = plot.Bottom - plot.Height * q / 4f;
            canvas.DrawLine(plot.Left, py, plot.Right, py, grid);
            canvas.DrawText((max * q / 4).ToString("F1"), plot.Left - 40, py + 4, font, text);
        }
        // Curves run one after another along x, as the pipeline does. Pretraining has hundreds of times more steps than a
        // TAPO run, so x is not shared by step: pretraining gets 40 % of the width, every stage an equal part of the rest.
        float Share(int c) => curves.Count == 1 ? 1f : c == 0 ? 0.4f : 0.6f / (curves.Count - 1);
        float start = plot.Left;
        for (int c = 0; c < curves.Count; c++)
        {
            var pts = curves[c].Points;
            float span = plot.Width * Share(c);
            using var pen = new SKPaint { Color = CurveColors[c % CurveColors.Length], StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var pathLine = new SKPath();
            for (int i = 0; i < pts.Count; i++)
            {
                float x = start + span * (pts.Count == 1 ? 0.5f : i / (float)(pts.Count - 1));
                float y = plot.Bottom - plot.Height * (float)(pts[i].Value / max);
                if (i == 0) pathLine.MoveTo(x, y); else pathLine.LineTo(x, y);
            }
            canvas.DrawPath(pathLine, pen);
            if (c > 0) canvas.DrawLine(start, plot.Top, start, plot.Bottom, grid);
            using var labelPaint = new SKPaint { Color = pen.Color, IsAntialias = true };
            float labelX = Math.Min(start + 2, plot.Right - font.MeasureText(curves[c].Name) - 2);   // keep the last label inside
            canvas.DrawText(curves[c].Name, labelX, plot.Top + 14 + 14 * (c % 2), font, labelPaint);
            start += span;
        }
        canvas.DrawRect(plot, axis);

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }
}
