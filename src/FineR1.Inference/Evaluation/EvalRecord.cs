namespace FineR1.Inference.Evaluation;

/// <summary>One line of a Fine-R1 eval file (<c>eval/*.jsonl</c>, docs/method.md §6.2).</summary>
/// <param name="ImagePath">Relative image path, e.g. <c>bird_200/images/001.Black_footed_Albatross/….jpg</c>.</param>
/// <param name="Question">The question.</param>
/// <param name="Options">Four candidate names (closed world; the ground truth is option 0 in every released record).</param>
/// <param name="GroundTruth">The class name.</param>
/// <param name="SourceFile">The file the record came from.</param>
/// <param name="LineNumber">1-based line number in <paramref name="SourceFile"/>.</param>
public sealed record EvalRecord(string ImagePath, string Question, IReadOnlyList<string> Options, string GroundTruth,
    string SourceFile, int LineNumber);

/// <summary>A record that could not be evaluated, with where it came from.</summary>
/// <param name="SourceFile">The eval file.</param>
/// <param name="LineNumber">1-based line number.</param>
/// <param name="Message">What was wrong.</param>
public sealed record EvalFailure(string SourceFile, int LineNumber, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{SourceFile}:{LineNumber}: {Message}";
}

/// <summary>A line of an eval file: a record or the reason it could not be read.</summary>
/// <param name="Record">The record, when the line was readable.</param>
/// <param name="Failure">The problem, when it was not.</param>
public sealed record EvalLine(EvalRecord? Record, EvalFailure? Failure);
