using FineR1.Training.Sft;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineR1.Training.Tests.Sft;

public sealed class SftOptionsTests
{
    [Fact]
    public void Defaults_are_the_paper_recipe()
    {
        var o = new SftOptions();
        Assert.Equal(5e-6, o.LearningRate);
        Assert.Equal(6, o.WarmupSteps);
        Assert.Equal(0.1, o.WeightDecay);
        Assert.Equal((0.9, 0.999, 1e-8), (o.Beta1, o.Beta2, o.AdamEpsilon));
        Assert.Equal(1.0, o.MaxGradNorm);
        Assert.Equal(10, o.Epochs);
        Assert.Equal(4096, o.MaxLength);
        Assert.Equal(64, o.MicroBatchSize * o.GradientAccumulationSteps);   // 4 GPUs × 4 × 4 in the paper
        Assert.Equal((589_824L, 1_024L), (o.ImageMaxPixels, o.ImageMinPixels));
        Assert.False(o.TrainVisionTower);
        Assert.False(o.TrainMultiModalProjector);
        Assert.True(o.TrainLanguageModel);
        Assert.False(o.Lora.Enabled);
    }

    [Fact]
    public void Every_bad_value_is_reported()
    {
        var o = new SftOptions
        {
            OutputFolder = "", MaxLength = 4, MicroBatchSize = 0, GradientAccumulationSteps = 0, Epochs = 0, LearningRate = -1,
            WarmupSteps = -1, WeightDecay = -0.1, Beta1 = 1, Beta2 = -0.5, AdamEpsilon = 0, MaxGradNorm = 0, ImageMinPixels = 100,
            ImageMaxPixels = 50, SaveSteps = -1, KeepLastCheckpoints = -1, LoggingSteps = 0, TrainLanguageModel = false,
        };
        var result = new SftOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        foreach (var name in new[] { "OutputFolder", "MaxLength", "MicroBatchSize", "GradientAccumulationSteps", "Epochs", "LearningRate",
                     "WarmupSteps", "WeightDecay", "Beta1", "Beta2", "AdamEpsilon", "MaxGradNorm", "ImageMaxPixels", "SaveSteps",
                     "KeepLastCheckpoints", "LoggingSteps", "nothing to train" })
            Assert.Contains(result.Failures!, f => f.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public void Lora_settings_are_checked_when_enabled()
    {
        var o = new SftOptions { OutputFolder = "out", Lora = { Enabled = true, Rank = 0, Alpha = 0, Dropout = 1, TargetModules = [] } };
        var failures = new SftOptionsValidator().Validate(null, o).Failures!;
        Assert.Equal(4, failures.Count(f => f.StartsWith("Lora.", StringComparison.Ordinal)));
        Assert.True(new SftOptionsValidator().Validate(null, new SftOptions { OutputFolder = "out" }).Succeeded);
    }

    [Fact]
    public void Invalid_options_fail_through_dependency_injection_and_the_trainer()
    {
        using var provider = new ServiceCollection().AddFineR1Sft(o => o.Epochs = 0).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SftOptions>>().Value);
        Assert.Contains(e.Failures, f => f.Contains("OutputFolder"));
        Assert.Contains(e.Failures, f => f.Contains("Epochs"));
        Assert.Throws<OptionsValidationException>(() => new SftTrainer(SftTestKit.NewModel(), SftTestKit.Tokenizer, new SftOptions()));

        using var ok = new ServiceCollection().AddFineR1Sft(o => o.OutputFolder = "runs/sft").BuildServiceProvider();
        Assert.Equal("runs/sft", ok.GetRequiredService<IOptions<SftOptions>>().Value.OutputFolder);
    }
}
