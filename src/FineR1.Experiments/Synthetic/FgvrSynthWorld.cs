using FineR1.Experiments.Synthetic.Taxonomy;

namespace FineR1.Experiments.Synthetic;

/// <summary>A generated FGVR-Synth world: taxonomy, split, images and every data file, as written by <see cref="FgvrSynth.Generate"/>.</summary>
public sealed class FgvrSynthWorld
{
    internal FgvrSynthWorld() { }

    /// <summary>The options it was generated with.</summary>
    public required FgvrSynthOptions Options { get; init; }

    /// <summary>The output folder (absolute); every relative path in the files is relative to it.</summary>
    public required string Root { get; init; }

    /// <summary>The super-categories, in option order.</summary>
    public required IReadOnlyList<SuperCategory> SuperCategories { get; init; }

    /// <summary>All species, grouped by super-category (index = <see cref="Species.Index"/>).</summary>
    public required IReadOnlyList<Species> Species { get; init; }

    /// <summary>Seen species (training classes).</summary>
    public IReadOnlyList<Species> Seen => Species.Where(s => s.IsSeen).ToList();

    /// <summary>Unseen species (evaluation only; present in the pretraining knowledge).</summary>
    public IReadOnlyList<Species> Unseen => Species.Where(s => !s.IsSeen).ToList();

    /// <summary>Every rendered image.</summary>
    public required IReadOnlyList<SynthImage> Images { get; init; }

    /// <summary>Pretraining captions (images of all species).</summary>
    public required IReadOnlyList<CaptionRecord> Captions { get; init; }

    /// <summary>Pretraining facts (name ↔ attributes, look-alike contrasts).</summary>
    public required IReadOnlyList<FactRecord> Facts { get; init; }

    /// <summary>Stage-1 SFT examples (<see cref="FgvrSynthOptions.Shots"/> per seen species).</summary>
    public required IReadOnlyList<SftExample> Sft { get; init; }

    /// <summary>TAPO triplets (one per SFT shot).</summary>
    public required IReadOnlyList<TapoTriplet> Tapo { get; init; }

    /// <summary>Evaluation splits: per super-category, seen then unseen.</summary>
    public required IReadOnlyList<EvalSplit> Eval { get; init; }

    /// <summary>The written files.</summary>
    public required FgvrSynthFiles Files { get; init; }

    /// <summary>Wall time of <see cref="FgvrSynth.Generate"/>.</summary>
    public TimeSpan GenerationTime { get; internal set; }

    /// <summary>The folder-per-class root of one super-category's pool (<c>root/&lt;Species_Name&gt;/*.png</c>), readable by
    /// <see cref="FineR1.Training.Data.ClassFolderDataset.Load"/>.</summary>
    public string ClassFolderRoot(SuperCategory superCategory, SynthImagePool pool) =>
        Path.Combine(Root, superCategory.Key, FgvrSynth.PoolFolder(pool));

    /// <summary>The images of <paramref name="species"/> in <paramref name="pool"/>, by number.</summary>
    public IReadOnlyList<SynthImage> ImagesOf(Species species, SynthImagePool pool) =>
        Images.Where(i => i.Species == species && i.Pool == pool).OrderBy(i => i.Number).ToList();

    /// <summary>The species named <paramref name="name"/> (ordinal match).</summary>
    public Species SpeciesNamed(string name) =>
        Species.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no species named '{name}'.");
}
