using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Tokenization;
using FineR1.Experiments.Synthetic;
using FineR1.Training.Tapo.Rollout;

namespace FineR1.Experiments.Pretraining;

/// <summary>
/// The closed vocabulary of an FGVR-Synth world: every token id of every chat the quickstart trains on, evaluates on
/// or prompts TAPO with, encoded exactly as the trainers encode them (<see cref="QwenTokenizer.WithClosedVocabulary(IEnumerable{int})"/>).
/// The base model's embedding then has a few hundred rows instead of 151,936 — which on a CPU is what made a tiny
/// model's training step slow (the AdamW update and the dense embedding gradient of 19 M weights) — while the text
/// is still cut by the real Qwen tokenizer.
/// </summary>
public static class WorldVocabulary
{
    /// <summary>Builds the closed-vocabulary tokenizer of <paramref name="world"/>.</summary>
    /// <param name="world">The world.</param>
    /// <param name="tokenizer">The full Qwen tokenizer.</param>
    /// <param name="imageGridH">Patch rows of the world's images after preprocessing.</param>
    /// <param name="imageGridW">Patch columns.</param>
    public static QwenTokenizer Build(FgvrSynthWorld world, QwenTokenizer tokenizer, int imageGridH, int imageGridW)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var encoder = new LmExampleEncoder(tokenizer, imageGridH, imageGridW);
        var template = new QwenChatTemplate(tokenizer);
        var ids = new HashSet<int>();
        foreach (var e in WorldKnowledgePretraining.Examples(world, encoder, factRepeats: 1, variedContexts: false)) ids.UnionWith(e.InputIds);
        // Varied contexts (KnowledgeContexts): one caption per species under every context, every fact under every system
        // message. Lead-ins end in a space or stand alone, so their tokens do not depend on the caption that follows.
        foreach (var caption in world.Captions.GroupBy(c => c.Image.Species.Name).Select(g => g.First()))
            for (int v = 0; v < KnowledgeContexts.Count; v++) ids.UnionWith(KnowledgeContexts.Caption(encoder, caption, v).InputIds);
        foreach (var fact in world.Facts)
            for (int v = 0; v < KnowledgeContexts.Systems.Count; v++) ids.UnionWith(KnowledgeContexts.Fact(encoder, fact, v).InputIds);
        for (int i = 0; i < world.Sft.Count; i++)
        {
            var s = world.Sft[i];
            foreach (var withTemplates in new[] { false, true })
            {
                var (system, user) = SftPrompt.For(s, i, withTemplates);
                ids.UnionWith(encoder.Chat(system, s.Image.Path, user, s.CotAnswer).InputIds);
                ids.UnionWith(encoder.Chat(system, s.Image.Path, user, s.DirectAnswer).InputIds);
            }
        }
        foreach (var t in world.Tapo)
            ids.UnionWith(template.Encode([TapoPromptEncoder.UserMessage(t.Problem, encoder.Image)], addGenerationPrompt: true).InputIds);
        foreach (var r in world.Eval.SelectMany(e => e.Records))
            foreach (var system in new[] { FineR1Prompts.SftSystemPrompt, null })
            {
                ids.UnionWith(encoder.Prompt(system, true, FineR1Prompts.ClosedWorld(r.Question, r.Options)));
                ids.UnionWith(encoder.Prompt(system, true, FineR1Prompts.OpenWorld(r.Question)));
            }
        return tokenizer.WithClosedVocabulary(ids);
    }
}
