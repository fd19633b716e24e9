using FineR1.Core.Text.Prompts;
using FineR1.Experiments.Synthetic;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// The (system, user) turns of a quickstart SFT example. Without evaluation templates: the paper's Stage-1 system prompt
/// and question. With them (the quickstart default), record <c>i</c> rotates through the three prompts the model will
/// meet later — the closed-world template with the record's candidates (shuffled by the world's seed), the open-world
/// template, both under the Stage-1 system prompt, and TAPO's format prompt without a system message (as the TAPO
/// trainer asks). A quickstart deviation from the paper, whose SFT prompts are the Stage-1 questions only: a tiny model
/// trained for a minute does not carry its answer format over to a prompt it never saw.
/// </summary>
public static class SftPrompt
{
    /// <summary>The turns of record <paramref name="index"/>.</summary>
    public static (string? System, string User) For(SftExample example, int index, bool evaluationTemplates)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (!evaluationTemplates) return (FineR1Prompts.SftSystemPrompt, example.UserTurn);
        return (index % 3) switch
        {
            0 => (FineR1Prompts.SftSystemPrompt, FineR1Prompts.ClosedWorld(example.Question, example.Candidates.Select(c => c.Name).ToList())),
            1 => (FineR1Prompts.SftSystemPrompt, FineR1Prompts.OpenWorld(example.Question)),
            _ => (null, FineR1Prompts.TapoFormatPrompt(Synthetic.Text.SynthTurns.TapoProblem(example.Question))),
        };
    }
}
