using FineR1.Core.Imaging;
using FineR1.Training.Data;
using FineR1.Training.Tapo.Data;
using Parquet.Serialization;
using SkiaSharp;

namespace FineR1.Training.Tests.TapoTrainer;

public class TapoDataTests
{
    private static byte[] Png(int w, int h, byte r, byte g, byte b)
    {
        using var bmp = new SKBitmap(w, h);
        bmp.Erase(new SKColor(r, g, b));
        using var data = SKImage.FromBitmap(bmp).Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static List<ParquetImage> Cell(byte[] bytes) => [new ParquetImage { bytes = bytes, path = null }];

    [Fact]
    public async Task Reads_the_reference_parquet_format_and_resizes_to_the_anchor()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("tapo.parquet");
        var rows = new List<TapoParquetRow>
        {
            new() { images = Cell(Png(40, 30, 255, 0, 0)), problem = "<image> What bird?", answer = "Varen Tanager",
                    image_noisy = Cell(Png(80, 60, 0, 255, 0)), image_aug = Cell(Png(40, 30, 0, 0, 255)) },
        };
        await ParquetSerializer.SerializeAsync(rows, file);

        var samples = TapoParquetDataset.Load(file);

        var s = Assert.Single(samples);
        Assert.Equal("<image> What bird?", s.Problem);
        Assert.Equal("Varen Tanager", s.Answer);
        Assert.True(s.HasUniformSize);
        Assert.Equal((40, 30), (s.Positive.Width, s.Positive.Height));
        Assert.Equal(255, s.Anchor[0, 0, 0]);
        Assert.Equal(255, s.Positive[10, 10, 1]);
        Assert.Equal(255, s.Negative[0, 0, 2]);
    }

    [Fact]
    public async Task Missing_column_or_image_is_a_dataset_error_naming_the_file()
    {
        using var dir = TestPaths.NewTempDir();
        var file = dir.File("bad.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new { problem = "x", answer = "y" } }, file);
        var e = Assert.Throws<DatasetException>(() => TapoParquetDataset.Load(file));
        Assert.Contains("bad.parquet", e.Message);
        Assert.Contains("images", e.Message);

        var empty = dir.File("empty-image.parquet");
        await ParquetSerializer.SerializeAsync(new List<TapoParquetRow>
        {
            new() { images = Cell(Png(8, 8, 1, 2, 3)), problem = "<image> q", answer = "a", image_noisy = [], image_aug = Cell(Png(8, 8, 1, 2, 3)) },
        }, empty);
        var e2 = Assert.Throws<DatasetException>(() => TapoParquetDataset.Load(empty));
        Assert.Equal(0, e2.RecordIndex);
        Assert.Contains("image_noisy", e2.Message);

        File.WriteAllText(dir.File("text.parquet"), "not parquet");
        Assert.Throws<DatasetException>(() => TapoParquetDataset.Load(dir.File("text.parquet")));
    }

    [Fact]
    public void Miner_picks_a_same_class_positive_and_the_most_similar_other_class_as_negative()
    {
        using var dir = TestPaths.NewTempDir();
        // Colours: red and dark-red are look-alikes; blue is far from both.
        var classes = new (string Name, byte R, byte G, byte B)[] { ("Red_Finch", 250, 0, 0), ("Dark_Red_Finch", 200, 10, 10), ("Blue_Jay", 0, 0, 250) };
        foreach (var (name, r, g, b) in classes)
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, name));
            for (int i = 0; i < 3; i++)
                File.WriteAllBytes(Path.Combine(dir.Path, name, $"{i}.png"), Png(20 + i, 16, (byte)(r - i), g, b));
        }
        var ds = ClassFolderDataset.Load(dir.Path);
        static float[] MeanRgb(RgbImage im)
        {
            var m = new float[3];
            for (int i = 0; i < im.Pixels.Length; i++) m[i % 3] += im.Pixels[i];
            return m;
        }

        var samples = TripletMiner.Mine(ds, ds.TakeShots(1, seed: 1), a => "<image> What bird?", MeanRgb, seed: 1);

        Assert.Equal(3, samples.Count);
        foreach (var s in samples)
        {
            Assert.True(s.HasUniformSize);
            var expectedNegative = s.Answer switch { "Red Finch" => 200, "Dark Red Finch" => 250, _ => -1 };
            if (expectedNegative > 0) Assert.InRange(s.Negative[0, 0, 0], expectedNegative - 3, expectedNegative);
            Assert.Equal(s.Anchor[0, 0, 2] > 100, s.Positive[0, 0, 2] > 100);          // same colour family
        }
    }
}
