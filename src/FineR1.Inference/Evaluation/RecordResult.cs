using System.Text.Json.Serialization;

namespace FineR1.Inference.Evaluation;

/// <summary>One record's outcome: a line of the results JSONL.</summary>
public sealed record RecordResult
{
    /// <summary>File name of the eval file (resume key with <see cref="Line"/>).</summary>
    [JsonPropertyName("file")] public required string File { get; init; }
    /// <summary>1-based line in the eval file.</summary>
    [JsonPropertyName("line")] public required int Line { get; init; }
    /// <summary>Relative image path of the record.</summary>
    [JsonPropertyName("image_path")] public string? ImagePath { get; init; }
    /// <summary>Ground truth.</summary>
    [JsonPropertyName("ground_truth")] public string? GroundTruth { get; init; }
    /// <summary>Raw model output; null when the record failed.</summary>
    [JsonPropertyName("output")] public string? Output { get; init; }
    /// <summary>Extracted answer (null: no <c>&lt;answer&gt;</c> tags).</summary>
    [JsonPropertyName("answer")] public string? Answer { get; init; }
    /// <summary>Closed-world correctness, or open-world text inclusion.</summary>
    [JsonPropertyName("correct")] public bool Correct { get; init; }
    /// <summary>Open-world relative semantic similarity in [0, 1] (null: closed world or no embedder).</summary>
    [JsonPropertyName("ss_rel")] public double? SemanticSimilarity { get; init; }
    /// <summary>Why the record failed (null on success).</summary>
    [JsonPropertyName("error")] public string? Error { get; init; }
}
