using FineR1.Training.Data;

namespace FineR1.Experiments.Synthetic.Text;

/// <summary>How the generated files phrase user turns and targets, in the paper's released formats (docs/method.md §3).
/// The system prompt itself is <see cref="FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt"/>.</summary>
public static class SynthTurns
{
    /// <summary>The Stage-1 user turn: the image placeholder immediately followed by the question (docs/method.md §3.1).</summary>
    public static string Stage1User(string question) => SftRecord.ImagePlaceholder + question;

    /// <summary>A TAPO <c>problem</c>: placeholder, a space, the question (the paper's example
    /// <c>"&lt;image&gt; Based on this image, what model of car is shown?"</c>, docs/method.md §3.2).</summary>
    public static string TapoProblem(string question) => SftRecord.ImagePlaceholder + " " + question;

    /// <summary>The assistant target of the direct-answer SFT baseline (no reasoning).</summary>
    public static string DirectAnswer(string name) => $"<answer>{name}</answer>";
}
