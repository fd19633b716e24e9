using FineR1.Core.Diagnostics;
using FineR1.Core.Imaging;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using FineR1.Tests;
using SkiaSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Classification;

/// <summary>Images from a path, a stream, bytes or a bitmap; the dtype default; asynchronous loading with progress, warm-up and logs.</summary>
public sealed class ImageSourcesAndLoadingTests(TinyQwen tiny) : IClassFixture<TinyQwen>
{
    private static readonly string[] Birds = ["Black Footed Albatross", "Heermann Gull", "Sooty Albatross", "Laysan Albatross"];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IFineGrainedClassifier Classifier() => new FineGrainedClassifier(tiny.Bundle, new ClassifierOptions { MaxNewTokens = 6 });

    [Fact]
    public async Task Stream_bytes_and_bitmap_give_the_same_answer_as_the_file()
    {
        var classifier = Classifier();
        var fromFile = await classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image1, "What bird is this?", Birds), Ct);

        await using var stream = File.OpenRead(TinyQwen.Image1);
        var sources = new List<ImageInput>
        {
            ImageInput.FromStream(stream, "upload.png"),
            ImageInput.FromBytes(await File.ReadAllBytesAsync(TinyQwen.Image1, Ct)),
        };
        using var bitmap = SKBitmap.Decode(TinyQwen.Image1);
        sources.Add(ImageInput.FromBitmap(bitmap));
        foreach (var image in sources)
        {
            var result = await classifier.ClassifyAsync(new ClassificationRequest(image, "What bird is this?", Birds), Ct);
            Assert.Equal(fromFile.TokenIds, result.TokenIds);
            Assert.Null(result.Request.ImagePath);
        }
        Assert.Equal(TinyQwen.Image1, fromFile.Request.ImagePath);
    }

    [Fact]
    public async Task Corrupt_bytes_are_refused_with_the_name_given_to_them()
    {
        var e = await Assert.ThrowsAsync<ClassificationRequestException>(() => Classifier().ClassifyAsync(
            new ClassificationRequest(ImageInput.FromBytes([0x89, 0x50, 0x4E, 0x47, 1, 2, 3], "upload-7.png"), null, Birds), Ct));
        Assert.Contains("upload-7.png", e.Message);
    }

    [Fact]
    public void The_default_dtype_is_bfloat16_on_cuda_and_float32_on_cpu()
    {
        Assert.Equal(ScalarType.Float32, FineR1Model.DefaultDType(CPU));
        // A CUDA device value (no GPU needed to name one).
        Assert.Equal(ScalarType.BFloat16, FineR1Model.DefaultDType(new Device(TorchSharp.DeviceType.CUDA, 0)));
    }

    [Fact]
    public async Task LoadAsync_reports_each_stage_warms_up_and_logs_device_dtype_and_duration()
    {
        using var dir = TestPaths.NewTempDir();
        tiny.SaveFolder(dir.Path);
        var stages = new List<ModelLoadProgress>();
        var logger = new ListLogger();

        using var model = await FineR1Model.LoadAsync(dir.Path, new ModelLoadOptions { Device = CPU, Logger = logger },
            new SynchronousProgress<ModelLoadProgress>(stages.Add), Ct);

        Assert.Equal(ScalarType.Float32, model.DType);
        Assert.Equal([ModelLoadStage.Config, ModelLoadStage.Weights, ModelLoadStage.WarmUp, ModelLoadStage.Done],
            stages.Select(s => s.Stage));
        Assert.Equal(stages.Select(s => s.Fraction).Order(), stages.Select(s => s.Fraction));
        var loaded = Assert.Single(logger.Entries, e => e.EventId == FineR1LogEvents.ModelLoaded);
        Assert.Contains(loaded.State, kv => kv.Key == "Device" && kv.Value!.ToString() == "cpu");
        Assert.Contains(loaded.State, kv => kv.Key == "DType" && (ScalarType)kv.Value! == ScalarType.Float32);
        Assert.Contains(loaded.State, kv => kv.Key == "Seconds");
        Assert.Single(logger.Entries, e => e.EventId == FineR1LogEvents.ModelWarmedUp);
    }

    [Fact]
    public async Task LoadAsync_honours_cancellation()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FineR1Model.LoadAsync("/does/not/matter", null, null, cts.Token));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the reports in order, at once.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
