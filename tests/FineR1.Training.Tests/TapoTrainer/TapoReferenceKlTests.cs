using FineR1.Training.Tapo;
using FineR1.Training.Tapo.Trainer;

namespace FineR1.Training.Tests.TapoTrainer;

/// <summary>The optional KL to a reference model (off in Fine-R1's recipe, docs/method.md §5.4).</summary>
[Collection(FineR1.Training.Tests.Sft.SerialTorchCollection.Name)]
public class TapoReferenceKlTests
{
    private static TapoStepMetrics FirstStep(bool useReferenceKl)
    {
        var model = TapoTestWorld.Model(seed: 5);
        var o = TapoTestWorld.Options(n: 2, promptsPerDraw: 2, groups: 2, maxResponse: 4);
        o.Algorithm.UseReferenceKl = useReferenceKl;
        o.Algorithm.KlCoef = 0.5;                        // large, so a wrong reference would show in the gradient
        var samples = Enumerable.Range(0, 4).Select(i => TapoTestWorld.Sample(10 + i)).ToList();
        using var trainer = new global::FineR1.Training.Tapo.Trainer.TapoTrainer(model, TapoTestWorld.Encoder(), samples, o);
        return trainer.Step();
    }

    [Fact]
    public void A_reference_equal_to_the_policy_adds_nothing_to_the_first_update()
    {
        // At step 1 the policy is the reference: the low-variance KL and its gradient are zero, so the update matches the
        // recipe without the term; a reference taken from other weights or the wrong image would change the gradient.
        var without = FirstStep(useReferenceKl: false);
        var with = FirstStep(useReferenceKl: true);
        Assert.True(double.IsFinite(with.GradNorm) && double.IsFinite(with.PolicyLoss), with.ToString());
        Assert.Equal(without.PolicyLoss, with.PolicyLoss, 6);
        Assert.Equal(without.GradNorm, with.GradNorm, 4);
    }
}
