namespace FineR1.Experiments;

/// <summary>Seen / unseen / overall accuracy (%) of one protocol, paper-style averages over super-categories.</summary>
/// <param name="Seen">Mean seen accuracy.</param>
/// <param name="Unseen">Mean unseen accuracy.</param>
/// <param name="Average">(Seen + Unseen) / 2.</param>
/// <param name="PerFile">Accuracy per eval file name.</param>
public sealed record SplitScores(double Seen, double Unseen, double Average, IReadOnlyDictionary<string, double> PerFile);

/// <summary>One stage's outcome.</summary>
public sealed record StageResult
{
    /// <summary>Row name.</summary>
    public required string Name { get; init; }

    /// <summary>False when the stage's trainer is not available (no numbers then).</summary>
    public bool Available { get; init; } = true;

    /// <summary>Why a stage is not available, or which trainer ran.</summary>
    public string Note { get; init; } = "";

    /// <summary>Training curve.</summary>
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];

    /// <summary>Closed-world accuracy.</summary>
    public SplitScores? ClosedWorld { get; init; }

    /// <summary>Open-world text-inclusion accuracy.</summary>
    public SplitScores? OpenWorld { get; init; }

    /// <summary>Share of evaluation outputs that had an <c>&lt;answer&gt;…&lt;/answer&gt;</c> (closed world, %).</summary>
    public double? AnswerFormatRate { get; init; }
}

/// <summary>The whole experiment: deterministic numbers (<see cref="Stages"/>, curves) and timings kept apart.</summary>
public sealed record ExperimentResult
{
    /// <summary>Seed.</summary>
    public int Seed { get; init; }

    /// <summary>World summary, e.g. "24 species (15 seen, 9 unseen) in 3 super-categories".</summary>
    public required string World { get; init; }

    /// <summary>Base model summary (parameter count, configuration).</summary>
    public required string BaseModel { get; init; }

    /// <summary>
    /// The base model's perception on the test images (seen and unseen species): % of generated attribute captions that
    /// are exactly right, and % of attribute phrases right. It bounds what any stage can reach by reasoning.
    /// </summary>
    public CaptionScores? BaseCaptions { get; init; }

    /// <summary>Pretraining loss curve.</summary>
    public required IReadOnlyList<CurvePoint> PretrainingCurve { get; init; }

    /// <summary>Stages in order.</summary>
    public required IReadOnlyList<StageResult> Stages { get; init; }

    /// <summary>Wall-clock seconds per phase (not deterministic; written to timings.json).</summary>
    public required IReadOnlyDictionary<string, double> Timings { get; init; }

    /// <summary>True when the base model came from the cache.</summary>
    public bool BaseFromCache { get; init; }

    /// <summary>Files written.</summary>
    public required ExperimentFiles Files { get; init; }
}

/// <summary>Output files of an experiment.</summary>
/// <param name="Markdown">results.md</param>
/// <param name="MetricsJson">metrics.json (deterministic for a seed)</param>
/// <param name="TimingsJson">timings.json</param>
/// <param name="Plot">results.png</param>
public sealed record ExperimentFiles(string Markdown, string MetricsJson, string TimingsJson, string Plot)
{
    /// <summary>The four files in <paramref name="folder"/>.</summary>
    public static ExperimentFiles In(string folder) => new(Path.Combine(folder, "results.md"), Path.Combine(folder, "metrics.json"),
        Path.Combine(folder, "timings.json"), Path.Combine(folder, "results.png"));
}

/// <summary>How well the base model describes the test images (<see cref="ExperimentResult.BaseCaptions"/>).</summary>
/// <param name="ExactSeen">% of seen-species test images captioned exactly.</param>
/// <param name="ExactUnseen">% of unseen-species test images captioned exactly.</param>
/// <param name="AttributeAccuracy">% of attribute phrases of all test images present in their captions.</param>
public sealed record CaptionScores(double ExactSeen, double ExactUnseen, double AttributeAccuracy);
