using FineR1.Core.Checkpoints;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using FineR1.Tests;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Classification;

public sealed class HostingTests(TinyQwen tiny) : IClassFixture<TinyQwen>
{
    private string SaveTinyModelFolder(TempDir dir)
    {
        CheckpointWriter.Save(tiny.Bundle.Model, dir.Path, new CheckpointSaveOptions { Config = tiny.Bundle.Config });
        File.Copy(TinyQwen.TokenizerFile, dir.File("tokenizer.json.gz"));
        return dir.Path;
    }

    [Fact]
    public void FineR1Model_Load_reads_config_weights_and_tokenizer_of_a_folder()
    {
        using var dir = TestPaths.NewTempDir();
        using var loaded = FineR1Model.Load(SaveTinyModelFolder(dir));
        Assert.Equal(tiny.Bundle.Config.ToJson(), loaded.Config.ToJson());
        Assert.Equal(151655, loaded.Tokenizer.ImagePadId);
        var expected = tiny.Bundle.Model.state_dict();
        foreach (var (name, tensor) in loaded.Model.state_dict())
            Assert.True(tensor.eq(expected[name]).all().item<bool>(), name);
    }

    [Fact]
    public void FineR1Model_Load_rejects_a_missing_folder_naming_it() =>
        Assert.Contains("/no/such/model", Assert.Throws<DirectoryNotFoundException>(() => FineR1Model.Load("/no/such/model")).Message);

    [Fact]
    public async Task AddFineR1Inference_composes_with_AddFineR1Core_and_registers_classifier_and_runner()
    {
        using var dir = TestPaths.NewTempDir();
        var folder = SaveTinyModelFolder(dir);
        var services = new ServiceCollection()
            .AddFineR1Core(o => { o.ModelPath = folder; o.Device = "cpu"; })
            .AddFineR1Inference(o => { o.MaxNewTokens = 3; o.ConstrainToCandidates = true; });
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var classifier = provider.GetRequiredService<FineGrainedClassifier>();
        Assert.Same(classifier, provider.GetRequiredService<IFineGrainedPredictor>());
        Assert.NotNull(provider.GetRequiredService<EvaluationRunner>());
        Assert.Equal(3, classifier.Options.MaxNewTokens);
        var result = await classifier.ClassifyAsync(new ClassificationRequest(TinyQwen.Image0, null, ["x", "y"]), TestContext.Current.CancellationToken);
        Assert.Contains(result.Answer, new[] { "x", "y" });
    }

    [Fact]
    public void Without_a_model_path_resolving_the_model_says_what_is_missing()
    {
        using var provider = new ServiceCollection().AddFineR1Inference().BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => (object)provider.GetRequiredService<FineR1Model>());
        Assert.Contains("ModelPath", e.Message);
    }
}
