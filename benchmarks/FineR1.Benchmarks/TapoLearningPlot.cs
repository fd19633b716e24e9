using System.Text.Json;
using SkiaSharp;

namespace FineR1.Benchmarks;

/// <summary>
/// <c>tapo-learning-plot OUT.png RUN.json…</c>: the generated-rollout reward of each <see cref="TapoLearning"/> run per
/// step (thin) and its 10-step moving average (thick), one colour per precision (bf16 red, fp32 blue; several seeds
/// share it), on one 0–1 axis (SkiaSharp, 1000×450).
/// </summary>
public static class TapoLearningPlot
{
    private static readonly SKColor[] Colors = [new(0xd6, 0x27, 0x28), new(0x1f, 0x77, 0xb4)];

    public static void Run(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException("usage: tapo-learning-plot OUT.png RUN.json [RUN.json…]");
        var runs = args[1..].Select(path =>
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var rewards = root.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("generated_reward").GetDouble()).ToArray();
            string precision = root.GetProperty("precision").GetString()!;
            string seed = root.TryGetProperty("seed", out var v) ? $" seed {v.GetInt32()}" : "";
            string device = root.GetProperty("gpu").GetString() ?? root.GetProperty("device").GetString()!;
            return (Label: $"{precision}{seed} ({device})", Precision: precision, Rewards: rewards);
        }).ToList();

        const int width = 1000, height = 450;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        var plot = new SKRect(60, 40, 960, 400);
        canvas.DrawText("TAPO on FGVR-Synth: mean reward of all generated rollouts per step (thin) and 10-step mean (thick)", 60, 25, font, text);
        for (int q = 0; q <= 4; q++)
        {
            float py = plot.Bottom - plot.Height * q / 4f;
            canvas.DrawLine(plot.Left, py, plot.Right, py, grid);
            canvas.DrawText((q / 4.0).ToString("F2"), plot.Left - 40, py + 4, font, text);
        }
        int maxSteps = runs.Max(r => r.Rewards.Length);
        for (int s = 0; s <= maxSteps; s += 20)
            canvas.DrawText(s.ToString(), plot.Left + plot.Width * s / Math.Max(1, maxSteps) - 8, plot.Bottom + 18, font, text);
        canvas.DrawText("step", plot.Right - 30, plot.Bottom + 36, font, text);
        for (int r = 0; r < runs.Count; r++)
        {
            var values = runs[r].Rewards;
            var smooth = values.Select((_, i) => values.Skip(Math.Max(0, i - 9)).Take(Math.Min(10, i + 1)).Average()).ToArray();
            var color = runs[r].Precision == "bf16" ? Colors[0] : Colors[1];
            Line(canvas, plot, values, maxSteps, color.WithAlpha(90), 1);
            Line(canvas, plot, smooth, maxSteps, color, 3);
            using var label = new SKPaint { Color = color, IsAntialias = true };
            canvas.DrawText(runs[r].Label, plot.Left + 10, plot.Top + 16 + 16 * r, font, label);
        }
        canvas.DrawRect(plot, axis);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var stream = File.Create(args[0]);
        data.SaveTo(stream);
    }

    private static void Line(SKCanvas canvas, SKRect plot, double[] values, int maxSteps, SKColor color, float width)
    {
        using var pen = new SKPaint { Color = color, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var path = new SKPath();
        for (int i = 0; i < values.Length; i++)
        {
            float x = plot.Left + plot.Width * (i + 1) / Math.Max(1, maxSteps);
            float y = plot.Bottom - plot.Height * (float)Math.Clamp(values[i], 0, 1);
            if (i == 0) path.MoveTo(x, y); else path.LineTo(x, y);
        }
        canvas.DrawPath(path, pen);
    }
}
