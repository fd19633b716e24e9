using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using FineR1.Core.Imaging;
using SkiaSharp;

namespace FineR1.Benchmarks;

/// <summary>
/// Qwen2-VL image preprocessing throughput: decode JPEG → RGB → smart_resize → bicubic → normalise → patchify into a
/// TorchSharp tensor. The "Op/s" column is images per second. Run:
/// <c>dotnet run -c Release --project benchmarks/FineR1.Benchmarks -- --filter '*ImagePreprocessing*'</c>.
/// </summary>
[Config(typeof(OpsPerSecondConfig))]
[MemoryDiagnoser]
[InProcessJob]
public class ImagePreprocessingBenchmarks
{
    private sealed class OpsPerSecondConfig : ManualConfig
    {
        public OpsPerSecondConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
    }

    private string _dir = "";
    private byte[] _jpeg = [];
    private Qwen2VLImageProcessor _processor = null!;

    /// <summary>Source image size (448×448 needs no resize; 1024×768 is resized to 1036×756 by default limits).</summary>
    [Params("448x448", "1024x768")]
    public string Size { get; set; } = "448x448";

    /// <summary>Which resampler arithmetic to reproduce.</summary>
    [Params(ResampleCompatibility.Torchvision, ResampleCompatibility.Pillow)]
    public ResampleCompatibility Compatibility { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var parts = Size.Split('x');
        int w = int.Parse(parts[0]), h = int.Parse(parts[1]);
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rng = new Random(7);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 255 / w), (byte)(127 + 100 * Math.Sin(x / 9.0 + y / 13.0)), (byte)rng.Next(256)));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        _jpeg = data.ToArray();
        _dir = Directory.CreateTempSubdirectory("finer1-bench-").FullName;
        File.WriteAllBytes(Path.Combine(_dir, "image.jpg"), _jpeg);
        _processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { Compatibility = Compatibility });
    }

    /// <summary>File on disk to pixel_values tensor (what a caller does per image).</summary>
    [Benchmark]
    public long FileToPixelValues()
    {
        using var result = _processor.Process(Path.Combine(_dir, "image.jpg"));
        return result.PixelValues.shape[0];
    }

    /// <summary>Decode only (Skia JPEG → RGB, EXIF applied).</summary>
    [Benchmark]
    public int DecodeOnly() => ImageDecoder.Decode(_jpeg).Width;

    [GlobalCleanup]
    public void Cleanup()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
