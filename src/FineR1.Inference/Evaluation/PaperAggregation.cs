namespace FineR1.Inference.Evaluation;

/// <summary>One dataset's score on the seen and unseen categories (percent).</summary>
/// <param name="Dataset">Dataset key (<c>aircraft</c>, <c>bird</c>, <c>car</c>, <c>dog</c>, <c>flower</c>, <c>pet</c>).</param>
/// <param name="Seen">Score on <c>&lt;dataset&gt;_seen.jsonl</c>.</param>
/// <param name="Unseen">Score on <c>&lt;dataset&gt;_unseen.jsonl</c>.</param>
public sealed record DatasetScore(string Dataset, double Seen, double Unseen);

/// <summary>The three averages of a row of the paper's tables.</summary>
/// <param name="SeenAverage">Arithmetic mean of the seen scores.</param>
/// <param name="UnseenAverage">Arithmetic mean of the unseen scores.</param>
/// <param name="Overall">Mean of <paramref name="SeenAverage"/> and <paramref name="UnseenAverage"/>.</param>
public sealed record TableAverages(double SeenAverage, double UnseenAverage, double Overall);

/// <summary>
/// Aggregation of the paper's Tables 1, 2 and 6 (docs/method.md §6.5): per split "Avg." is the arithmetic mean of the dataset
/// scores; the overall "Avg." is the mean of the seen and unseen averages (not the mean over all files, and not a
/// harmonic mean). Example (Fine-R1-7B, closed): (91.71 + 85.70) / 2 = 88.71.
/// </summary>
public static class PaperAggregation
{
    /// <summary>Dataset keys in the paper's column order.</summary>
    public static readonly IReadOnlyList<string> DatasetOrder = ["aircraft", "bird", "car", "dog", "flower", "pet"];

    /// <summary>Column label of a dataset key as printed in the paper (<c>aircraft</c> → <c>Air.</c>).</summary>
    public static string ColumnLabel(string dataset) => dataset switch
    {
        "aircraft" => "Air.", "bird" => "Bird", "car" => "Car", "dog" => "Dog", "flower" => "Flower", "pet" => "Pet",
        _ => dataset,
    };

    /// <summary>The averages of a row.</summary>
    /// <exception cref="ArgumentException">No datasets.</exception>
    public static TableAverages Aggregate(IReadOnlyList<DatasetScore> scores)
    {
        if (scores.Count == 0) throw new ArgumentException("at least one dataset score is needed.", nameof(scores));
        double seen = scores.Average(s => s.Seen), unseen = scores.Average(s => s.Unseen);
        return new TableAverages(seen, unseen, (seen + unseen) / 2);
    }
}
