using FineR1.Core.Text.Prompts;
using FineR1.Training.Data;

namespace FineR1.Training.Sft;

/// <summary>
/// SFT records from a folder-per-class dataset (<see cref="ClassFolderDataset"/>), which has labels but no
/// chain-of-thought. Each image becomes a Stage-1-shaped record: Fine-R1's SFT system prompt, a user turn
/// <c>&lt;image&gt;{question}</c>, and a templated target without reasoning,
/// <c>&lt;think&gt; {reasoning} &lt;/think&gt;\n\n&lt;answer&gt;{class}&lt;/answer&gt;</c>
/// (default reasoning: "The image shows a {class}."). This teaches the answer format and the labels; it is not the
/// paper's CoT data (docs/method.md §4.1), which needs a teacher model to write rationales.
/// </summary>
public static class ClassFolderSftRecords
{
    /// <summary>The default question (the wording of the Stage-1 data's generic questions).</summary>
    public const string DefaultQuestion = "What is the name of the object in the picture?";

    /// <summary>Builds one record per image, indexed in order.</summary>
    /// <param name="images">Labelled images (e.g. <see cref="ClassFolderDataset.TakeShots"/>).</param>
    /// <param name="question">The user question after the image.</param>
    /// <param name="reasoning">Text inside <c>&lt;think&gt;</c> for a class name; default "The image shows a {class}.".</param>
    public static IReadOnlyList<SftRecord> Create(IReadOnlyList<LabelledImage> images, string question = DefaultQuestion,
        Func<string, string>? reasoning = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        reasoning ??= c => $"The image shows a {c}.";
        return images.Select((image, i) => new SftRecord(i,
        [
            new SftTurn("system", FineR1Prompts.SftSystemPrompt),
            new SftTurn("user", SftRecord.ImagePlaceholder + question),
            new SftTurn("assistant", Target(image.ClassName, reasoning(image.ClassName))),
        ], [image.ImagePath])).ToList();
    }

    /// <summary>The templated assistant target: <c>&lt;think&gt; {reasoning} &lt;/think&gt;\n\n&lt;answer&gt;{label}&lt;/answer&gt;</c>.</summary>
    public static string Target(string label, string reasoning) => $"<think> {reasoning} </think>\n\n<answer>{label}</answer>";
}
