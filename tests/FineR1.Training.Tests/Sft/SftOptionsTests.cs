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
        Assert.Equal(1000, o.Checkpointing.SaveEverySteps);                  // save_steps 1000
        Assert.Null(o.Checkpointing.OutputDir);                               // nothing written until a folder is set
    }

    [Fact]
    public void Every_bad_value_is_reported()
    {
        var o = new SftOptions
        {
            MaxLength = 4, MicroBatchSize = 0, GradientAccumulationSteps = 0, Epochs = 0, LearningRate = -1,
            WarmupSteps = -1, WeightDecay = -0.1, Beta1 = 1, Beta2 = -0.5, AdamEpsilon = 0, MaxGradNorm = 0, ImageMinPixels = 100,
            ImageMaxPixels = 50, LoggingSteps = 0, TrainLanguageModel = false,
            Checkpointing = { OutputDir = " ", SaveEverySteps = -1, KeepLast = -1 },
        };
        var result = new SftOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        foreach (var name in new[] { "Checkpointing.OutputDir", "MaxLength", "MicroBatchSize", "GradientAccumulationSteps", "Epochs", "LearningRate",
                     "WarmupSteps", "WeightDecay", "Beta1", "Beta2", "AdamEpsilon", "MaxGradNorm", "ImageMaxPixels",
                     "Checkpointing.SaveEverySteps", "Checkpointing.KeepLast", "LoggingSteps", "nothing to train" })
            Assert.Contains(result.Failures!, f => f.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public void Lora_settings_are_checked_when_enabled()
    {
        var o = new SftOptions { Lora = { Enabled = true, Rank = 0, Alpha = 0, Dropout = 1, TargetModules = [] } };
        var failures = new SftOptionsValidator().Validate(null, o).Failures!;
        Assert.Equal(4, failures.Count(f => f.StartsWith("Lora.", StringComparison.Ordinal)));
        Assert.True(new SftOptionsValidator().Validate(null, new SftOptions()).Succeeded);
    }

    [Fact]
    public void Invalid_options_fail_through_dependency_injection_and_the_trainer()
    {
        static void Bad(SftOptions o) { o.Epochs = 0; o.Checkpointing.KeepLast = -1; }
        using var provider = new ServiceCollection().AddFineR1Training(sft: Bad).BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SftOptions>>().Value);
        var options = new SftOptions();
        Bad(options);
        var direct = Assert.Throws<OptionsValidationException>(() => new SftTrainer(SftTestKit.NewModel(), SftTestKit.Tokenizer, options));
        Assert.Equal(["Epochs must be > 0, got 0.", "Checkpointing.KeepLast must be ≥ 0 (0 = keep all), got -1."], e.Failures);
        Assert.Equal(e.Failures, direct.Failures);                            // one validator, both paths

        using var ok = new ServiceCollection().AddFineR1Training(sft: o => o.Checkpointing.OutputDir = "runs/sft").BuildServiceProvider();
        Assert.Equal("runs/sft", ok.GetRequiredService<IOptions<SftOptions>>().Value.Checkpointing.OutputDir);
    }
}
