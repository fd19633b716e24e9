using FineR1.Experiments.Synthetic.Taxonomy;

namespace FineR1.Experiments.Synthetic;

/// <summary>
/// Settings of an FGVR-Synth world. <see cref="Default"/> (3 super-categories × 8 species = 24) and <see cref="Quick"/>
/// (2 × 5 = 10, smaller pools) are the presets; use <c>with</c> to change single settings:
/// <code>var options = FgvrSynthOptions.Default with { Seed = 7, ImageSize = 224 };</code>
/// </summary>
public sealed record FgvrSynthOptions
{
    /// <summary>The default world: birds, butterflies and aircraft, 8 species each, 112×112 images.</summary>
    public static FgvrSynthOptions Default { get; } = new();

    /// <summary>A ~10-species world for smoke runs: birds and butterflies, 5 species each, smaller image pools.</summary>
    public static FgvrSynthOptions Quick { get; } = new()
    {
        SuperCategories = [SuperCategoryKind.Birds, SuperCategoryKind.Butterflies],
        SpeciesPerSuperCategory = 5,
        TrainImagesPerSpecies = 6,
        TestImagesPerSpecies = 4,
        PretrainImagesPerSpecies = 6,
    };

    /// <summary>Seed of everything (taxonomy, names, split, images, texts). Same seed → byte-identical output.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Super-categories to generate (each is one "dataset" with its own eval files).</summary>
    public IReadOnlyList<SuperCategoryKind> SuperCategories { get; init; } =
        [SuperCategoryKind.Birds, SuperCategoryKind.Butterflies, SuperCategoryKind.Aircraft];

    /// <summary>Sub-categories per super-category (at least 4, so closed-world questions have 3 distractors).</summary>
    public int SpeciesPerSuperCategory { get; init; } = 8;

    /// <summary>Fraction of each super-category's sub-categories that is seen (the paper: 60 %).</summary>
    public double SeenFraction { get; init; } = 0.6;

    /// <summary>Image width and height in pixels; a multiple of 28 (Qwen2.5-VL's patch 14 × merge 2).</summary>
    public int ImageSize { get; init; } = 112;

    /// <summary>Training shots per seen species: the CoT SFT examples and the TAPO anchors (the paper: 4).</summary>
    public int Shots { get; init; } = 4;

    /// <summary>Training images per species (shots, then extra images used as TAPO positives and negatives); more than <see cref="Shots"/>.</summary>
    public int TrainImagesPerSpecies { get; init; } = 8;

    /// <summary>Test images per species (closed- and open-world evaluation).</summary>
    public int TestImagesPerSpecies { get; init; } = 6;

    /// <summary>Images per species (seen and unseen) captioned for pretraining the base model's world knowledge.</summary>
    public int PretrainImagesPerSpecies { get; init; } = 8;

    /// <summary>Strength of nuisance variation in [0, 1] (pose, scale, position, lighting, noise, clutter); 0 draws canonical images.</summary>
    public double Variation { get; init; } = 1.0;

    /// <summary>Threads used to render images (output does not depend on it).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (SuperCategories is null || SuperCategories.Count == 0)
            throw new ArgumentException("SuperCategories must list at least one super-category.", nameof(SuperCategories));
        if (SuperCategories.Distinct().Count() != SuperCategories.Count)
            throw new ArgumentException("SuperCategories must not repeat a super-category.", nameof(SuperCategories));
        foreach (var kind in SuperCategories)
        {
            var sc = SuperCategoryCatalog.Get(kind);
            if (SpeciesPerSuperCategory > sc.Combinations)
                throw new ArgumentOutOfRangeException(nameof(SpeciesPerSuperCategory), SpeciesPerSuperCategory,
                    $"{sc.Key} have only {sc.Combinations} attribute combinations.");
        }
        if (SpeciesPerSuperCategory < 4)
            throw new ArgumentOutOfRangeException(nameof(SpeciesPerSuperCategory), SpeciesPerSuperCategory,
                "at least 4 species per super-category are needed (ground truth + 3 distractors).");
        if (!(SeenFraction > 0 && SeenFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(SeenFraction), SeenFraction, "must be in (0, 1).");
        if (ImageSize < 28 || ImageSize % 28 != 0 || ImageSize > 1792)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "must be a multiple of 28 between 28 and 1792.");
        if (Shots < 1) throw new ArgumentOutOfRangeException(nameof(Shots), Shots, "must be at least 1.");
        if (TrainImagesPerSpecies <= Shots)
            throw new ArgumentOutOfRangeException(nameof(TrainImagesPerSpecies), TrainImagesPerSpecies,
                $"must exceed Shots ({Shots}) so TAPO positives are other images of the same species.");
        if (TestImagesPerSpecies < 1) throw new ArgumentOutOfRangeException(nameof(TestImagesPerSpecies), TestImagesPerSpecies, "must be at least 1.");
        if (PretrainImagesPerSpecies < 0) throw new ArgumentOutOfRangeException(nameof(PretrainImagesPerSpecies), PretrainImagesPerSpecies, "must not be negative.");
        if (!(Variation >= 0 && Variation <= 1)) throw new ArgumentOutOfRangeException(nameof(Variation), Variation, "must be in [0, 1].");
        if (MaxDegreeOfParallelism < 1) throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "must be at least 1.");
    }
}
