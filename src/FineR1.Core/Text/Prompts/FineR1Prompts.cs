namespace FineR1.Core.Text.Prompts;

/// <summary>
/// The prompts of Fine-R1's released code, verbatim: the SFT system prompt (in the Stage-1 data), the TAPO format prompt
/// (<c>TAPO/examples/format_prompt/cls_thinking.jinja</c>) and the evaluation prompts (<c>eval/evaluation.py</c>).
/// The evaluation builders also take a custom template (placeholders <c>{Question}</c>, <c>{Options}</c>) for other wordings.
/// </summary>
public static class FineR1Prompts
{
    /// <summary>The system prompt of all 404 Stage-1 (CoT SFT) records. RL and evaluation use none (→ Qwen's default).</summary>
    public const string SftSystemPrompt =
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>";

    /// <summary>The instruction the TAPO format prompt appends to the problem.</summary>
    public const string TapoFormatInstruction =
        "You first think through the reasoning process as an internal monologue, enclosed within <think> </think> tags. Then, provide your final answer enclosed within <answer> </answer> tags.";

    /// <summary>Closed-world template of <c>eval/evaluation.py</c> (placeholders <c>{Question}</c>, <c>{Options}</c>).</summary>
    public const string ClosedWorldTemplate =
        "Given the question: {Question}, based on the options provided in {Options}, output the thinking process in <think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.";

    /// <summary>Open-world template of <c>eval/evaluation.py</c> (placeholder <c>{Question}</c>).</summary>
    public const string OpenWorldTemplate =
        "Given the question: {Question}. This is a fine-grained question. Output reasoning in <think></think> and the final answer in <answer></answer>.";

    /// <summary>
    /// The TAPO user text: <c>{{ content | trim }}</c> + blank line + <see cref="TapoFormatInstruction"/>. The problem keeps
    /// its <c>&lt;image&gt;</c> placeholder; build the message with <see cref="Chat.ChatMessage.WithImagePlaceholders"/>.
    /// </summary>
    /// <example><c>TapoFormatPrompt("&lt;image&gt; Based on this image, what model of car is shown?")</c> →
    /// <c>"&lt;image&gt; Based on this image, what model of car is shown?\n\nYou first think through …"</c></example>
    public static string TapoFormatPrompt(string problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return PythonString.Strip(problem) + "\n\n" + TapoFormatInstruction;
    }

    /// <summary>
    /// The closed-world prompt: <paramref name="options"/> are rendered as Python's <c>str(list)</c>
    /// (<c>['Black Footed Albatross', 'Heermann Gull']</c>; an option containing <c>'</c> and no <c>"</c> is double-quoted:
    /// <c>"colt's foot"</c>). The released evaluation always has 4 options, the ground truth first.
    /// </summary>
    /// <param name="question">The record's question.</param>
    /// <param name="options">The options, in the record's order.</param>
    /// <param name="template">Another wording with <c>{Question}</c> and <c>{Options}</c>; default <see cref="ClosedWorldTemplate"/>.</param>
    public static string ClosedWorld(string question, IReadOnlyList<string> options, string? template = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Any(o => o is null)) throw new ArgumentException("An option is null.", nameof(options));
        return Format(template ?? ClosedWorldTemplate, question, PythonListRepr(options));
    }

    /// <summary>The open-world prompt (no options).</summary>
    /// <param name="question">The record's question.</param>
    /// <param name="template">Another wording with <c>{Question}</c>; default <see cref="OpenWorldTemplate"/>.</param>
    public static string OpenWorld(string question, string? template = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        return Format(template ?? OpenWorldTemplate, question, options: null);
    }

    /// <summary>Python's <c>str(list)</c> of strings, e.g. <c>['a', "b's"]</c>.</summary>
    public static string PythonListRepr(IEnumerable<string> items) => PythonString.ListRepr(items);

    // str.format with named fields, replaced in one pass so a question containing "{Options}" stays literal.
    private static string Format(string template, string question, string? options)
    {
        var result = new System.Text.StringBuilder(template.Length + question.Length + (options?.Length ?? 0));
        var i = 0;
        while (i < template.Length)
        {
            if (template.AsSpan(i).StartsWith("{Question}")) { result.Append(question); i += "{Question}".Length; }
            else if (options is not null && template.AsSpan(i).StartsWith("{Options}")) { result.Append(options); i += "{Options}".Length; }
            else result.Append(template[i++]);
        }
        return result.ToString();
    }
}
