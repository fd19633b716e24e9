namespace FineR1.Training.Synthetic.Text;

/// <summary>Prompt texts of the paper's released data and code (spec §3), used verbatim in the generated files.</summary>
public static class FineR1Prompts
{
    /// <summary>The Stage-1 SFT system prompt, identical in all 404 records of the released data (spec §3.1).</summary>
    public const string Stage1System =
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>";

    /// <summary>The image placeholder of LLaMA-Factory's ShareGPT format and of TAPO's <c>problem</c> strings.</summary>
    public const string ImagePlaceholder = "<image>";

    /// <summary>The Stage-1 user turn: the placeholder immediately followed by the question (spec §3.1).</summary>
    public static string Stage1User(string question) => ImagePlaceholder + question;

    /// <summary>A TAPO <c>problem</c>: placeholder, a space, the question (the paper's example
    /// <c>"&lt;image&gt; Based on this image, what model of car is shown?"</c>, spec §3.2).</summary>
    public static string TapoProblem(string question) => ImagePlaceholder + " " + question;

    /// <summary>The assistant target of the direct-answer SFT baseline (no reasoning).</summary>
    public static string DirectAnswer(string name) => $"<answer>{name}</answer>";
}
