using FineR1.Training.Sft;
using FineR1.Training.Tapo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineR1.Training.Tests.Tapo;

public sealed class TapoOptionsTests
{
    [Fact]
    public void Defaults_are_the_released_3B_recipe_and_valid()
    {
        var o = TapoOptions.FineR1_3B();
        Assert.Equal(5, o.Rollout.N);
        Assert.Equal(1.0, o.Rollout.Temperature);
        Assert.Equal(0.99, o.Rollout.TopP);
        Assert.Equal(2048, o.Rollout.MaxResponseLength);
        Assert.Equal((0.2, 0.28, 3.0), (o.Algorithm.ClipRatioLow, o.Algorithm.ClipRatioHigh, o.Algorithm.ClipRatioDual));
        Assert.Equal(0.01, o.Algorithm.KlPrcpCoef);
        Assert.Equal((0.03, 0.03), (o.Algorithm.AugEntropyCoef, o.Algorithm.OriEntropyCoef));
        Assert.False(o.Algorithm.UseReferenceKl);
        Assert.Equal(LossAggregation.Token, o.Algorithm.LossAggregation);
        Assert.Equal(PositiveRolloutConditioning.GenerationImage, o.Algorithm.PositiveRolloutConditioning);
        Assert.Equal(-1, o.Algorithm.MaxDynamicSamplingTries);
        Assert.Equal((1e-6, 1e-2, 1.0), (o.Optimization.LearningRate, o.Optimization.WeightDecay, o.Optimization.MaxGradNorm));
        Assert.Equal((384, 128, 128, 4, 10), (o.Rollout.RolloutBatchSize, o.Rollout.PromptsPerDraw, o.Optimization.GlobalBatchSize, o.Optimization.MicroBatchSize, o.Optimization.Epochs));
        Assert.True(new TapoOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void The_7B_recipe_halves_the_batches_and_epochs()
    {
        var o = TapoOptions.FineR1_7B();
        Assert.Equal((192, 64, 64, 5), (o.Rollout.RolloutBatchSize, o.Rollout.PromptsPerDraw, o.Optimization.GlobalBatchSize, o.Optimization.Epochs));
        Assert.True(new TapoOptionsValidator().Validate(null, o).Succeeded);
    }

    [Fact]
    public void Validator_names_every_bad_knob()
    {
        var o = new TapoOptions();
        o.Rollout.N = 0;
        o.Rollout.TopP = 1.5;
        o.Algorithm.ClipRatioLow = 1.0;
        o.Algorithm.ClipRatioDual = 0.5;
        o.Algorithm.FilterAccuracyLow = 0.9;
        o.Algorithm.FilterAccuracyHigh = 0.1;
        o.Algorithm.MaxDynamicSamplingTries = 0;
        o.Optimization.LearningRate = 0;
        o.Optimization.GlobalBatchSize = 100; // 384 % 100 ≠ 0
        var result = new TapoOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        foreach (var key in new[] { "Rollout.N", "Rollout.TopP", "ClipRatioLow", "ClipRatioDual", "FilterAccuracyLow", "MaxDynamicSamplingTries", "LearningRate", "multiple of" })
            Assert.Contains(failures, f => f.Contains(key));
        Assert.Equal(8, failures.Count);
    }

    [Fact]
    public void Checkpointing_is_off_by_default_and_its_bad_knobs_are_named()
    {
        var o = new TapoOptions();
        Assert.Null(o.Checkpointing.OutputDir);
        Assert.True(o.Checkpointing.ResumeFromLatest);
        Assert.Equal(20, o.Checkpointing.SaveEverySteps);
        o.Checkpointing.SaveEverySteps = -1;
        o.Checkpointing.KeepLast = -2;
        o.Checkpointing.OutputDir = "  ";
        o.Checkpointing.MetricsFileName = "logs/metrics.jsonl";
        var failures = new TapoOptionsValidator().Validate(null, o).Failures!.ToList();
        foreach (var key in new[] { "Checkpointing.SaveEverySteps", "Checkpointing.KeepLast", "Checkpointing.OutputDir", "Checkpointing.MetricsFileName" })
            Assert.Contains(failures, f => f.Contains(key));
        o.Checkpointing = null!;
        Assert.Contains(new TapoOptionsValidator().Validate(null, o).Failures!, f => f.Contains("Checkpointing must not be null"));
    }

    [Fact]
    public void Options_validate_through_DI()
    {
        var services = new ServiceCollection().AddFineR1Training(tapo: o =>
        {
            o.Algorithm.PositiveRolloutConditioning = PositiveRolloutConditioning.Anchor;
            o.Optimization.LearningRate = -1;
        });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TapoOptions>>().Value);
        Assert.Contains("LearningRate", ex.Message);

        using var ok = new ServiceCollection().AddFineR1Training(tapo: o => o.Algorithm.MaxDynamicSamplingTries = 20).BuildServiceProvider();
        Assert.Equal(20, ok.GetRequiredService<IOptions<TapoOptions>>().Value.Algorithm.MaxDynamicSamplingTries);
        Assert.True(ok.GetRequiredService<IOptions<SftOptions>>().Value is { Checkpointing.OutputDir: null });   // SFT registered and valid too
    }
}
