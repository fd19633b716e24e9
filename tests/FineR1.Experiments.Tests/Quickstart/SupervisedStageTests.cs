using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Text.Tokenization;
using FineR1.Tests;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;
using Xunit;
using static TorchSharp.torch;

namespace FineR1.Experiments.Tests.Quickstart;

/// <summary>The quickstart's SFT stage trains what the paper's SFT trains (docs/method.md §9 item 16) and leaves the model trainable.</summary>
[Collection(nameof(QuickstartCollection))]
public sealed class SupervisedStageTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sft_trains_the_language_model_and_the_vision_tower_only_when_asked(bool trainVision)
    {
        using var dir = TestPaths.NewTempDir();
        var full = QwenTokenizer.Load(TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz"), QwenTokenizerOptions.Qwen2_5_VL);
        var world = FgvrSynth.Generate(FgvrSynthOptions.Quick with
        {
            PretrainImagesPerSpecies = 1, TrainImagesPerSpecies = 5, TestImagesPerSpecies = 1, MaxDegreeOfParallelism = 2,
        }, dir.Path);
        var processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MinPixels = 28 * 28, MaxPixels = 112 * 112 });
        var grid = processor.PlanResize(world.Options.ImageSize, world.Options.ImageSize).Grid;
        var closed = WorldVocabulary.Build(world, full, grid.H, grid.W);
        manual_seed(5);
        using var model = new Qwen2_5_VLForConditionalGeneration(TinyQwenConfig.Create(32, 1, 1, 32, closed), CPU, ScalarType.Float32);
        WorldKnowledgePretraining.InitializeWeights(model);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

        var stage = new SupervisedStage(true, new LmTrainingOptions { Epochs = 1, BatchSize = 8, LearningRate = 1e-2 },
            new SupervisedStageSettings { KnowledgeReplay = true, ReplayInVariedContexts = true, TrainVision = trainVision });
        var training = stage.Train(new StageContext(model, world, new LmExampleEncoder(closed, grid.H, grid.W), processor, 1, null),
            TestContext.Current.CancellationToken);

        Assert.NotEmpty(training.Curve);
        Assert.All(training.Curve, p => Assert.True(double.IsFinite(p.Value)));
        bool Changed(string name) => !before[name].allclose(model.state_dict()[name]);
        Assert.True(Changed("model.language_model.layers.0.mlp.up_proj.weight"));
        Assert.Equal(trainVision, Changed("model.visual.blocks.0.mlp.up_proj.weight"));
        Assert.Equal(trainVision, Changed("model.visual.merger.mlp.0.weight"));
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));     // TAPO, which starts from here, trains everything
        foreach (var t in before.Values) t.Dispose();
    }
}
