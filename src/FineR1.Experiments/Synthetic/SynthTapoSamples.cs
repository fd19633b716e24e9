using FineR1.Core.Imaging;
using FineR1.Training.Tapo.Data;

namespace FineR1.Experiments.Synthetic;

/// <summary>FGVR-Synth's TAPO triplets as the trainer's samples.</summary>
public static class SynthTapoSamples
{
    /// <summary>Loads the images of <paramref name="triplets"/> (e.g. <see cref="FgvrSynthWorld.Tapo"/>) as
    /// <see cref="TapoSample"/>s; the anchor's relative path is the sample's id.</summary>
    public static IReadOnlyList<TapoSample> Load(IEnumerable<TapoTriplet> triplets) =>
        triplets.Select(t => TapoSample.Create(t.Problem, t.Answer, ImageDecoder.Load(t.Anchor.Path), ImageDecoder.Load(t.Positive.Path),
            ImageDecoder.Load(t.Negative.Path), t.Anchor.RelativePath)).ToList();
}
