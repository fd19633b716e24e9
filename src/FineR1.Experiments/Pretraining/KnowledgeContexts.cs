using FineR1.Experiments.Synthetic;
using FineR1.Experiments.Synthetic.Taxonomy;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// World knowledge in varied conversational contexts: each caption under one of several system messages, user
/// instructions and assistant lead-ins, and each fact both as plain text and as the answer to a question. A real MLLM
/// meets its knowledge in countless phrasings, which is why it can use it inside a chain of thought it was never
/// pretrained on; a tiny model taught one caption prompt and plain-text facts learns skills bound to those contexts,
/// and CoT SFT on seen species then builds a separate, seen-only mapping in the CoT context instead of reusing them.
/// None of the contexts is a classification question, and no caption carries a name.
/// </summary>
public static class KnowledgeContexts
{
    /// <summary>System messages (null = the chat template's default).</summary>
    public static IReadOnlyList<string?> Systems { get; } =
        [null, "You are a careful observer of nature and machines.", "You are an assistant that describes images precisely."];

    /// <summary>User instructions of a caption ({0} = the super-category's noun).</summary>
    public static IReadOnlyList<string> CaptionInstructions { get; } =
        [LmExampleEncoder.CaptionInstruction, "What does the {0} in the image look like?", "Describe the visual features of this {0}.",
         "Look at the image carefully and describe what you see.", "Which features does this {0} have?"];

    /// <summary>Assistant lead-ins before the caption.</summary>
    public static IReadOnlyList<string> Leads { get; } = ["", "Visual features: ", "Looking at the image: ", "Description of the image: "];

    /// <summary><paramref name="caption"/> without a leading <see cref="Leads"/> entry ("Visual features: A bird …" → "A bird …").</summary>
    public static string WithoutLead(string caption)
    {
        foreach (var lead in Leads)
            if (lead.Length > 0 && caption.StartsWith(lead, StringComparison.Ordinal)) return caption[lead.Length..];
        return caption;
    }

    /// <summary>Distinct caption contexts (system × instruction × lead-in).</summary>
    public static int Count => Systems.Count * CaptionInstructions.Count * Leads.Count;

    /// <summary>Caption <paramref name="index"/> of the world as a chat in its context (cycling through the phrasings).</summary>
    public static LmExample Caption(LmExampleEncoder encoder, CaptionRecord caption, int index)
    {
        int s = index % Systems.Count, u = index / Systems.Count % CaptionInstructions.Count,
            l = index / (Systems.Count * CaptionInstructions.Count) % Leads.Count;
        string instruction = string.Format(CaptionInstructions[u], caption.Image.Species.SuperCategory.Noun);
        return encoder.Chat(Systems[s], caption.Image.Path, instruction, Leads[l] + caption.Text);
    }

    /// <summary>Caption <paramref name="index"/> in its varied context (<see cref="Caption"/>), or under the plain caption prompt.</summary>
    public static LmExample Caption(LmExampleEncoder encoder, CaptionRecord caption, int index, bool varied) =>
        varied ? Caption(encoder, caption, index) : encoder.Caption(caption.Image.Path, caption.Text);

    /// <summary>A fact as the answer to a question (<see cref="Fact"/>), or as plain text.</summary>
    public static LmExample Fact(LmExampleEncoder encoder, FactRecord fact, int index, bool asQuestion) =>
        asQuestion ? Fact(encoder, fact, index) : encoder.Text(fact.Text);

    /// <summary>
    /// A fact as the answer to a question: the recognition fact ("A bird with … is the NAME.") answers "Which bird has
    /// …?", every other fact answers "What do you know about the NAME?".
    /// </summary>
    public static LmExample Fact(LmExampleEncoder encoder, FactRecord fact, int index)
    {
        var species = fact.Species;
        string question = fact.Text == Synthetic.Text.KnowledgeText.Recognition(species)
            ? $"Which {species.SuperCategory.Noun} has {Synthetic.Text.TextJoin.List(species.Phrases)}?"
            : $"What do you know about the {species.Name}?";
        return encoder.Chat(Systems[index % Systems.Count], null, question, fact.Text);
    }
}
