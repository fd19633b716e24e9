using System.Text.Json;
using System.Text.RegularExpressions;
using FineR1.Training.Data;
using FineR1.Experiments.Synthetic;
using FineR1.Experiments.Synthetic.Taxonomy;
using FineR1.Experiments.Synthetic.Text;
using SkiaSharp;

namespace FineR1.Experiments.Tests.Synthetic;

/// <summary>The written files parse as the paper's formats and carry what the pipeline needs.</summary>
public class FgvrSynthFormatTests(SynthWorldFixture fixture) : IClassFixture<SynthWorldFixture>
{
    private FgvrSynthWorld World => fixture.World;

    [Fact]
    public void Cot_sft_file_loads_as_the_papers_sharegpt_format()
    {
        var records = ShareGptDataset.Load(World.Files.CotSftJson); // images resolved against the file's folder (the root)
        Assert.Equal(World.Seen.Count * World.Options.Shots, records.Count);
        Assert.Equal(World.Sft.Count, records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var name = World.Sft[i].Answer;
            Assert.Equal(["system", "user", "assistant"], r.Turns.Select(t => t.Role));
            Assert.Equal(FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt, r.System);
            Assert.StartsWith("<image>", r.Turns[1].Content);
            Assert.DoesNotContain("<image>", r.Turns[1].Content[7..]);
            Assert.Matches(@"^<think> [\s\S]+</think>\n\n<answer>" + Regex.Escape(name) + "</answer>$", r.Assistant);
            Assert.True(File.Exists(r.ImagePaths.Single()));
            Assert.Contains($"/{World.SpeciesNamed(name).FolderName}/", r.ImagePaths[0].Replace('\\', '/'));
            Assert.True(World.SpeciesNamed(name).IsSeen);
        }
        // The system prompt is the paper's, verbatim (docs/method.md §3.1).
        Assert.StartsWith("A conversation between User and Assistant.", FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt);
        Assert.EndsWith("<think> reasoning process here </think><answer> answer here </answer>", FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt);
    }

    [Fact]
    public void Direct_sft_file_has_answer_only_targets_for_the_same_images()
    {
        var cot = ShareGptDataset.Load(World.Files.CotSftJson);
        var direct = ShareGptDataset.Load(World.Files.DirectSftJson);
        Assert.Equal(cot.Select(r => r.ImagePaths[0]), direct.Select(r => r.ImagePaths[0]));
        Assert.Equal(cot.Select(r => r.Turns[1].Content), direct.Select(r => r.Turns[1].Content));
        Assert.Equal(World.Sft.Select(e => $"<answer>{e.Answer}</answer>"), direct.Select(r => r.Assistant));
    }

    [Fact]
    public void Rationale_has_the_four_parts_in_order_and_names_the_answer()
    {
        foreach (var e in World.Sft)
        {
            var text = e.CotAnswer;
            int last = -1;
            foreach (var heading in Rationale.Headings)
            {
                int at = text.IndexOf(heading, StringComparison.Ordinal);
                Assert.True(at > last, $"'{heading}' missing or out of order");
                last = at;
            }
            Assert.Contains($"The prediction is: {e.Answer}</think>\n\n<answer>{e.Answer}</answer>", text);
            Assert.EndsWith("</answer>", text);
            // Visual analysis states every attribute of the true species, in the caption's words.
            var s = e.Image.Species;
            Assert.All(s.Phrases, p => Assert.Contains(p, text));
            // Candidates: the answer plus its nearest species, one-attribute neighbours first (the closed-world options of
            // the SFT prompt); the rationale recognises the answer and rules out its nearest look-alike by a differing attribute.
            Assert.Contains(s, e.Candidates);
            Assert.Equal(Math.Min(4, World.Options.SpeciesPerSuperCategory), e.Candidates.Count);
            int neighbours = World.Species.Count(o => o.SuperCategory == s.SuperCategory && s.Distance(o) == 1);
            Assert.Equal(Math.Min(3, neighbours), e.Candidates.Count(c => s.Distance(c) == 1));
            Assert.Contains($" is the {s.Name}.", text);
            var lookAlike = e.Candidates.Where(c => c != s).MinBy(s.Distance)!;
            Assert.Contains($"so it is not the {lookAlike.Name}.", text);
            Assert.Contains(s.Value(s.DifferingAttributes(lookAlike)[0]).Phrase, text);
        }
    }

    [Fact]
    public void Eval_files_have_the_papers_fields_with_ground_truth_first_and_three_hard_distractors()
    {
        Assert.Equal(2 * World.SuperCategories.Count, World.Eval.Count);
        foreach (var split in World.Eval)
        {
            var lines = File.ReadAllLines(split.FilePath);
            Assert.Equal(split.Records.Count, lines.Length);
            Assert.Equal(World.Species.Count(s => s.SuperCategory == split.SuperCategory && s.IsSeen == split.Seen) * World.Options.TestImagesPerSpecies, lines.Length);
            Assert.EndsWith($"{split.SuperCategory.Noun}_{(split.Seen ? "seen" : "unseen")}.jsonl", split.FilePath);
            foreach (var line in lines)
            {
                Assert.StartsWith("{\"image_path\": \"", line); // Python json.dumps layout, like the released files
                using var doc = JsonDocument.Parse(line);
                var e = doc.RootElement;
                Assert.Equal(["image_path", "question", "options", "ground_truth"], e.EnumerateObject().Select(p => p.Name));
                var gt = e.GetProperty("ground_truth").GetString()!;
                var options = e.GetProperty("options").EnumerateArray().Select(o => o.GetString()!).ToList();
                Assert.Equal(4, options.Count);
                Assert.Contains(gt, options);
                Assert.Equal(4, options.Distinct().Count());
                Assert.Contains(e.GetProperty("question").GetString(), split.SuperCategory.EvalQuestions);
                Assert.True(File.Exists(Path.Combine(World.Root, e.GetProperty("image_path").GetString()!)));
                var truth = World.SpeciesNamed(gt);
                Assert.Equal(split.Seen, truth.IsSeen);
                // Hard distractors: same super-category, nearest first (all one-attribute neighbours before any other).
                var distances = options.Where(o => o != gt).Select(o => World.SpeciesNamed(o)).Select(d =>
                {
                    Assert.Equal(truth.SuperCategory, d.SuperCategory);
                    return truth.Distance(d);
                }).ToList();
                var allDistances = World.Species.Where(o => o != truth && o.SuperCategory == truth.SuperCategory).Select(truth.Distance).Order().Take(3);
                Assert.Equal(allDistances, distances.Order());
                Assert.Equal(1, distances.Min());
            }
        }
    }

    [Fact]
    public void Tapo_triplets_pair_each_shot_with_a_positive_and_a_one_attribute_negative()
    {
        var lines = File.ReadAllLines(World.Files.TapoJsonl);
        Assert.Equal(World.Seen.Count * World.Options.Shots, lines.Length);
        Assert.Equal(lines.Length, World.Tapo.Count);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var e = doc.RootElement;
            Assert.Equal(["image", "image_pos", "image_neg", "problem", "answer"], e.EnumerateObject().Select(p => p.Name));
            var t = World.Tapo[i];
            Assert.Equal(t.Anchor.RelativePath, e.GetProperty("image").GetString());
            Assert.Equal(t.Positive.RelativePath, e.GetProperty("image_pos").GetString());
            Assert.Equal(t.Negative.RelativePath, e.GetProperty("image_neg").GetString());
            Assert.Equal(t.Answer, e.GetProperty("answer").GetString());
            Assert.StartsWith("<image> ", t.Problem);
            Assert.Equal(t.Anchor.Species, t.Positive.Species);
            Assert.NotEqual(t.Anchor, t.Positive);
            Assert.Equal(SynthImagePool.Train, t.Positive.Pool);
            Assert.True(t.Positive.Number >= World.Options.Shots, "positives are not SFT shots");
            Assert.Equal(1, t.Anchor.Species.Distance(t.Negative.Species));
            Assert.True(t.Negative.Species.IsSeen);
            foreach (var img in new[] { t.Anchor, t.Positive, t.Negative })
            {
                using var codec = SKCodec.Create(img.Path);
                Assert.Equal(World.Options.ImageSize, codec.Info.Width);
                Assert.Equal(World.Options.ImageSize, codec.Info.Height);
            }
        }
    }

    [Fact]
    public void Knowledge_text_covers_all_species_without_questions_and_captions_never_name_them()
    {
        Assert.Equal(World.Species.Count * World.Options.PretrainImagesPerSpecies, World.Captions.Count);
        var captionLines = File.ReadAllLines(World.Files.CaptionsJsonl);
        Assert.Equal(World.Captions.Count, captionLines.Length);
        foreach (var c in World.Captions)
        {
            Assert.DoesNotContain(World.Species, s => c.Text.Contains(s.Name, StringComparison.OrdinalIgnoreCase));
            Assert.All(c.Image.Species.Phrases, p => Assert.Contains(p, c.Text));
            Assert.StartsWith(char.ToUpperInvariant(c.Text[0]).ToString(), c.Text);
        }
        foreach (var s in World.Species) // unseen species are world knowledge too
        {
            Assert.Contains(World.Facts, f => f.Species == s && f.Text == $"The {s.Name} has {string.Join(", ", s.Phrases.SkipLast(1))} and {s.Phrases[^1]}.");
            // and the recognition direction (attributes → name), which a model does not infer from the other one
            Assert.Contains(World.Facts, f => f.Species == s && f.Text.EndsWith($" is the {s.Name}.") && s.Phrases.All(f.Text.Contains));
        }
        Assert.DoesNotContain(World.Facts, f => f.Text.Contains('?'));
        Assert.DoesNotContain(World.Captions, c => c.Text.Contains('?'));
        Assert.Equal(World.Facts.Count, File.ReadAllLines(World.Files.FactsJsonl).Length);
    }

    [Fact]
    public void Images_are_also_laid_out_folder_per_class()
    {
        foreach (var sc in World.SuperCategories)
        {
            var ds = ClassFolderDataset.Load(World.ClassFolderRoot(sc, SynthImagePool.Test));
            Assert.Equal(World.Species.Where(s => s.SuperCategory == sc).Select(s => s.Name).Order(StringComparer.Ordinal), ds.Classes);
            Assert.Equal(ds.Classes.Count * World.Options.TestImagesPerSpecies, ds.Images.Count);
            Assert.All(ds.Images, i => Assert.Equal(World.Images.Single(x => x.Path == i.ImagePath).Species.Name, i.ClassName));
        }
    }

    [Fact]
    public void Dataset_info_registers_both_files_like_the_paper()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(World.Files.DatasetInfoJson));
        var cot = doc.RootElement.GetProperty("fgvr-synth-cot-sft");
        Assert.Equal("stage1_cot_sft.json", cot.GetProperty("file_name").GetString());
        Assert.Equal("sharegpt", cot.GetProperty("formatting").GetString());
        Assert.Equal("assistant", cot.GetProperty("tags").GetProperty("assistant_tag").GetString());
        Assert.Equal("stage1_direct_sft.json", doc.RootElement.GetProperty("fgvr-synth-direct-sft").GetProperty("file_name").GetString());
    }
}
