namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>The drawn object families FGVR-Synth can generate.</summary>
public enum SuperCategoryKind
{
    /// <summary>Perched songbirds seen from the side: crown colour, wing bars, breast pattern, tail shape, beak length.</summary>
    Birds,
    /// <summary>Butterflies seen from above: wing colour, wing tips, hindwing shape, spot pattern.</summary>
    Butterflies,
    /// <summary>Aircraft silhouettes seen from above: wing shape, engines, tail layout, livery stripe, nose.</summary>
    Aircraft,
}

/// <summary>
/// A super-category ("dataset" in the paper's terms, e.g. CUB-200 birds) with the fine attributes its sub-categories
/// differ in, and the question phrasings used for it.
/// </summary>
public sealed class SuperCategory
{
    /// <summary>Which family this is.</summary>
    public SuperCategoryKind Kind { get; }

    /// <summary>Singular noun used in text ("bird", "butterfly", "aircraft").</summary>
    public string Noun { get; }

    /// <summary>Folder and file-name key ("birds", "butterflies", "aircraft"); image paths contain it, so the paper's
    /// open-world metric picks its super-category anchor word from the path (docs/method.md §6.4).</summary>
    public string Key { get; }

    /// <summary>The fine attributes, in the order sub-categories store their values.</summary>
    public IReadOnlyList<SynthAttribute> Attributes { get; }

    /// <summary>Evaluation questions (10, the paper's eval phrasings for this kind of object; docs/method.md §6.2).</summary>
    public IReadOnlyList<string> EvalQuestions { get; }

    /// <summary>Training questions (SFT user turns and TAPO problems; phrasings of the paper's Stage-1 data, docs/method.md §3.1).</summary>
    public IReadOnlyList<string> TrainQuestions { get; }

    internal SuperCategory(SuperCategoryKind kind, string noun, string key, IReadOnlyList<SynthAttribute> attributes,
        IReadOnlyList<string> evalQuestions, IReadOnlyList<string> trainQuestions)
    {
        Kind = kind; Noun = noun; Key = key; Attributes = attributes; EvalQuestions = evalQuestions; TrainQuestions = trainQuestions;
    }

    /// <summary>Number of distinct attribute combinations (the most sub-categories this super-category can have).</summary>
    public long Combinations => Attributes.Aggregate(1L, (n, a) => n * a.Values.Count);

    /// <inheritdoc/>
    public override string ToString() => Key;
}
