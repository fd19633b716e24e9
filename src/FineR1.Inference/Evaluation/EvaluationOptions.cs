namespace FineR1.Inference.Evaluation;

/// <summary>Which protocol of docs/method.md §6 to run.</summary>
public enum EvalProtocol
{
    /// <summary>Four options in the prompt; score = accuracy (answer contains the ground truth).</summary>
    ClosedWorld,
    /// <summary>No options; scores = text inclusion (with the car rule) and relative semantic similarity.</summary>
    OpenWorld,
}

/// <summary>Which path picks the super-category anchor of the semantic similarity.</summary>
public enum AnchorPathSource
{
    /// <summary>The record's relative <c>image_path</c> (reproducible: birds, dogs, pets → <c>object</c>).</summary>
    RecordPath,
    /// <summary>The image path joined to <see cref="EvaluationOptions.ImageRoot"/>, as the reference code sees it.</summary>
    ResolvedPath,
}

/// <summary>What <see cref="EvaluationRunner"/> evaluates and where it writes.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Eval files, named <c>&lt;dataset&gt;_&lt;seen|unseen&gt;.jsonl</c> as released.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    /// <summary>Folder the records' relative <c>image_path</c> values are resolved against.</summary>
    public required string ImageRoot { get; init; }
    /// <summary>Closed or open world.</summary>
    public EvalProtocol Protocol { get; init; } = EvalProtocol.ClosedWorld;
    /// <summary>Requests per predictor call (the reference uses 2).</summary>
    public int BatchSize { get; init; } = 2;
    /// <summary>
    /// Per-record results (JSONL), appended as the run goes. When it already exists, records with a stored output are
    /// not predicted again (resume); records that failed before are retried. Null: no file, no resume.
    /// </summary>
    public string? ResultsPath { get; init; }
    /// <summary>Datasets scored with the car rule of text inclusion.</summary>
    public IReadOnlySet<string> CarDatasets { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "car" };
    /// <summary>
    /// Accept records whose <c>image_path</c> leaves <see cref="ImageRoot"/> (<c>../</c>, or an absolute path elsewhere).
    /// Off by default: such a record fails with "image path leaves the image root".
    /// </summary>
    public bool AllowImagesOutsideRoot { get; init; }
    /// <summary>Which path picks the semantic-similarity anchor.</summary>
    public AnchorPathSource AnchorSource { get; init; } = AnchorPathSource.RecordPath;
}
