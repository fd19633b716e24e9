using FineR1.Core.Modeling;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Prompts;
using FineR1.Core.Text.Tokenization;
using FineR1.Tests;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;
using static TorchSharp.torch;

namespace FineR1.Experiments.Tests.Pretraining;

/// <summary>The quickstart's closed vocabulary, tiny configuration and SFT loss masking on a small FGVR-Synth world.</summary>
public sealed class WorldVocabularyTests
{
    private static readonly Lazy<QwenTokenizer> FullTokenizer =
        new(() => QwenTokenizer.Load(TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz"), QwenTokenizerOptions.Qwen2_5_VL));

    private static (FgvrSynthWorld World, QwenTokenizer Closed, LmExampleEncoder Full, LmExampleEncoder Compact, TempDir Dir) Setup()
    {
        var dir = TestPaths.NewTempDir();
        var world = FgvrSynth.Generate(FgvrSynthOptions.Quick with
        {
            PretrainImagesPerSpecies = 1, TrainImagesPerSpecies = 5, TestImagesPerSpecies = 1, MaxDegreeOfParallelism = 2,
        }, dir.Path);
        var closed = WorldVocabulary.Build(world, FullTokenizer.Value, 8, 8);
        return (world, closed, new LmExampleEncoder(FullTokenizer.Value, 8, 8), new LmExampleEncoder(closed, 8, 8), dir);
    }

    [Fact]
    public void Every_chat_of_the_world_encodes_in_the_closed_vocabulary_as_the_full_tokenizer_does()
    {
        var (world, closed, full, compact, dir) = Setup();
        using var _ = dir;
        Assert.InRange(closed.VocabularySize, 100, 1000);          // a few hundred rows instead of 151,936
        void Same(int[] fullIds, int[] compactIds) => Assert.Equal(fullIds, compactIds.Select(closed.OriginalId).ToArray());
        for (int i = 0; i < world.Sft.Count; i++)
        {
            var s = world.Sft[i];
            var (system, user) = SftPrompt.For(s, i, evaluationTemplates: true);
            Same(full.Chat(system, s.Image.Path, user, s.CotAnswer).InputIds, compact.Chat(system, s.Image.Path, user, s.CotAnswer).InputIds);
        }
        foreach (var r in world.Eval.SelectMany(e => e.Records))
            Same(full.Prompt(FineR1Prompts.SftSystemPrompt, true, FineR1Prompts.ClosedWorld(r.Question, r.Options)),
                compact.Prompt(FineR1Prompts.SftSystemPrompt, true, FineR1Prompts.ClosedWorld(r.Question, r.Options)));
        foreach (var f in world.Facts) Same(full.Text(f.Text).InputIds, compact.Text(f.Text).InputIds);
        // The base model's pretraining in varied contexts: every context of every caption, every fact as an answer.
        for (int i = 0; i < KnowledgeContexts.Count; i++)
        {
            var c = world.Captions[i % world.Captions.Count];
            Same(KnowledgeContexts.Caption(full, c, i).InputIds, KnowledgeContexts.Caption(compact, c, i).InputIds);
        }
        foreach (var (f, i) in world.Facts.Select((f, i) => (f, i)))
            Same(KnowledgeContexts.Fact(full, f, i).InputIds, KnowledgeContexts.Fact(compact, f, i).InputIds);
        // TAPO's prompt: no system message, the image at the problem's placeholder.
        var tapo = FineR1.Training.Tapo.Rollout.TapoPromptEncoder.UserMessage(world.Tapo[0].Problem, compact.Image);
        Same(new QwenChatTemplate(FullTokenizer.Value).Encode([tapo], addGenerationPrompt: true).InputIds,
            new QwenChatTemplate(closed).Encode([tapo], addGenerationPrompt: true).InputIds);
        Assert.Throws<ArgumentException>(() => closed.Encode("Paris is the capital of France"));
    }

    [Fact]
    public void Varied_contexts_cycle_through_every_phrasing_and_keep_names_out_of_captions()
    {
        var (world, _, full, _, dir) = Setup();
        using var _ = dir;
        var tok = full.Tokenizer;
        var caption = world.Captions[0];
        var texts = Enumerable.Range(0, KnowledgeContexts.Count).Select(i => tok.Decode(KnowledgeContexts.Caption(full, caption, i).InputIds)).ToList();
        Assert.Equal(KnowledgeContexts.Count, texts.Distinct().Count());                       // every index a different context
        Assert.All(KnowledgeContexts.Leads, lead => Assert.Contains(texts, t => t.Contains(lead + caption.Text, StringComparison.Ordinal)));
        Assert.All(KnowledgeContexts.Systems.OfType<string>(), system => Assert.Contains(texts, t => t.Contains(system, StringComparison.Ordinal)));
        Assert.All(texts, t => Assert.DoesNotContain(caption.Image.Species.Name, t));
        Assert.Equal(KnowledgeContexts.Caption(full, caption, 0).InputIds, KnowledgeContexts.Caption(full, caption, KnowledgeContexts.Count).InputIds);

        var species = world.Facts[0].Species;
        var recognition = world.Facts.Single(f => f.Species == species && f.Text.EndsWith($" is the {species.Name}.", StringComparison.Ordinal));
        Assert.Contains($"Which {species.SuperCategory.Noun} has ", tok.Decode(KnowledgeContexts.Fact(full, recognition, 0).InputIds));
        var other = world.Facts.First(f => f.Species == species && f != recognition);
        Assert.Contains($"What do you know about the {species.Name}?", tok.Decode(KnowledgeContexts.Fact(full, other, 0).InputIds));

        // Half of the fact repeats are questions, the other half plain text; captions all in context.
        var examples = WorldKnowledgePretraining.Examples(world, full, factRepeats: 2, variedContexts: true);
        Assert.Equal(world.Captions.Count + 2 * world.Facts.Count, examples.Count);
        Assert.Equal(world.Facts.Count, examples.Count(e => e.ImagePath is null && e.InputIds[^1] == tok.EndOfTextId));
    }

    [Theory]
    [InlineData("Visual features: A bird with a red crown.", "A bird with a red crown.")]
    [InlineData("A bird with a red crown.", "A bird with a red crown.")]
    [InlineData("Features: A bird.", "Features: A bird.")]
    public void A_lead_in_is_stripped_before_a_caption_is_scored(string output, string expected) =>
        Assert.Equal(expected, KnowledgeContexts.WithoutLead(output));

    [Fact]
    public void The_tiny_configuration_speaks_the_closed_ids_and_trains()
    {
        var (world, closed, _, compact, dir) = Setup();
        using var _ = dir;
        var config = TinyQwenConfig.Create(hiddenSize: 64, layers: 1, visionDepth: 1, visionHidden: 32, tokenizer: closed);
        Assert.Equal(closed.VocabularySize, (int)config.Text.VocabSize);
        Assert.Equal(closed.ImagePadId, config.ImageTokenId);
        Assert.Equal(closed.VisionStartId, config.VisionStartTokenId);
        Assert.Equal(closed.ImEndId, config.Text.EosTokenId);
        using var model = new Qwen2_5_VLForConditionalGeneration(config, CPU, ScalarType.Float32);
        WorldKnowledgePretraining.InitializeWeights(model);
        var processor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MinPixels = 28 * 28, MaxPixels = 112 * 112 });
        using var trainer = new LanguageModelTrainer(model, processor, new LmTrainingOptions());
        var caption = world.Captions[0];
        using var loss = trainer.Loss([compact.Caption(caption.Image.Path, caption.Text)], CPU);
        Assert.InRange(loss.item<float>(), 0.5 * Math.Log(closed.VocabularySize), 2 * Math.Log(closed.VocabularySize));   // ≈ ln V at init
    }

    [Fact]
    public void The_loss_mask_leaves_out_exactly_the_span_and_rejects_a_span_inside_a_token()
    {
        var (world, _, _, compact, dir) = Setup();
        using var _ = dir;
        var s = world.Sft[0];
        var example = compact.Chat(null, s.Image.Path, s.UserTurn, s.CotAnswer);
        string span = " " + s.Answer;
        var masked = compact.WithoutLossOn(example, s.CotAnswer, span);
        int dropped = example.Labels.Count(l => l != LanguageModelLoss.IgnoreIndex) - masked.Labels.Count(l => l != LanguageModelLoss.IgnoreIndex);
        Assert.Equal(compact.Tokenizer.Encode(span).Length, dropped);
        Assert.Equal(example.InputIds, masked.InputIds);                       // still input
        var kept = masked.Labels.Where(l => l != LanguageModelLoss.IgnoreIndex).Select(l => (int)l);
        Assert.Equal(CountOf(s.CotAnswer, s.Answer) - 1, CountOf(compact.Tokenizer.Decode(kept), s.Answer));   // the first one left out
        Assert.Throws<ArgumentException>(() => compact.WithoutLossOn(example, s.CotAnswer, "not in the rationale"));
        Assert.Throws<ArgumentException>(() => compact.WithoutLossOn(example, s.CotAnswer, s.Answer[1..]));   // starts inside a token
    }

    private static int CountOf(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
