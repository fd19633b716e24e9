namespace FineR1.Training.Data;

/// <summary>One turn of a ShareGPT conversation (<c>role</c> is <c>system</c>, <c>user</c> or <c>assistant</c>).</summary>
/// <param name="Role">Speaker.</param>
/// <param name="Content">Text; user turns mark where each image goes with <c>&lt;image&gt;</c>.</param>
public sealed record SftTurn(string Role, string Content);

/// <summary>
/// One CoT SFT example in the paper's Stage-1 format (docs/method.md §4.2): system, user and assistant turns plus the images
/// the user turn's <c>&lt;image&gt;</c> placeholders refer to, in order, as absolute paths.
/// </summary>
/// <param name="Index">Position of the record in its file (for error messages and data order).</param>
/// <param name="Turns">The conversation.</param>
/// <param name="ImagePaths">Absolute image paths, one per <c>&lt;image&gt;</c> placeholder.</param>
public sealed record SftRecord(int Index, IReadOnlyList<SftTurn> Turns, IReadOnlyList<string> ImagePaths)
{
    /// <summary>The placeholder LLaMA-Factory's ShareGPT format uses for an image in a user turn.</summary>
    public const string ImagePlaceholder = "<image>";

    /// <summary>The system prompt, if the conversation has one.</summary>
    public string? System => Turns.FirstOrDefault(t => t.Role == "system")?.Content;

    /// <summary>The final assistant answer (the SFT target).</summary>
    public string Assistant => Turns.Last(t => t.Role == "assistant").Content;
}
