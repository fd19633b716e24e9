using System.Diagnostics;
using FineR1.Experiments.Synthetic.Rendering;
using FineR1.Experiments.Synthetic.Taxonomy;
using FineR1.Experiments.Synthetic.Text;

namespace FineR1.Experiments.Synthetic;

/// <summary>
/// FGVR-Synth: a seeded synthetic fine-grained visual recognition world for running the whole Fine-R1 pipeline on a
/// laptop with no downloads. Sub-categories of drawn birds, butterflies and aircraft differ in a few fine attributes;
/// hard negatives differ in exactly one. Writes images and the paper's data formats (see docs/fgvr-synth.md).
/// </summary>
/// <example><code>
/// var world = FgvrSynth.Generate(FgvrSynthOptions.Default, "out/fgvr-synth");
/// var sft = ShareGptDataset.Load(world.Files.CotSftJson);            // Stage-1 CoT SFT
/// foreach (var t in world.Tapo) { /* t.Anchor.Path, t.Positive.Path, t.Negative.Path, t.Problem, t.Answer */ }
/// </code></example>
public static class FgvrSynth
{
    /// <summary>The marker file of a generated world; a folder holding it may be regenerated in place.</summary>
    public const string WorldFileName = "world.json";

    /// <summary>
    /// Generates the world of <paramref name="options"/> into <paramref name="outputFolder"/>. Same options → byte-identical
    /// files. The folder must be empty, missing, or hold an earlier FGVR-Synth world (whose files are replaced).
    /// </summary>
    /// <exception cref="ArgumentException">An invalid option (the message names it).</exception>
    /// <exception cref="IOException">The folder holds other content.</exception>
    public static FgvrSynthWorld Generate(FgvrSynthOptions options, string outputFolder)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var root = Path.GetFullPath(outputFolder);
        var superCategories = options.SuperCategories.Select(SuperCategoryCatalog.Get).ToList();
        PrepareFolder(root, superCategories);

        var species = TaxonomyBuilder.Build(options);
        var images = PlanImages(species, options, root);
        RenderAll(images, options);

        var captions = images.Where(i => i.Pool == SynthImagePool.Pretrain)
            .Select(i => new CaptionRecord(i, KnowledgeText.Caption(i.Species)))
            .ToList();
        var facts = species.SelectMany(s => KnowledgeText.Facts(s, species).Select(t => new FactRecord(s, t))).ToList();
        var byKey = images.ToDictionary(i => (i.Species.Index, i.Pool, i.Number));
        var sft = BuildSft(species, byKey, options);
        var tapo = BuildTapo(species, byKey, options);
        var eval = BuildEval(superCategories, species, byKey, options, root);

        var files = new FgvrSynthFiles(
            WorldJson: Path.Combine(root, WorldFileName),
            CaptionsJsonl: Path.Combine(root, "pretrain", "captions.jsonl"),
            FactsJsonl: Path.Combine(root, "pretrain", "facts.jsonl"),
            CotSftJson: Path.Combine(root, "stage1_cot_sft.json"),
            DirectSftJson: Path.Combine(root, "stage1_direct_sft.json"),
            DatasetInfoJson: Path.Combine(root, "dataset_info.json"),
            TapoJsonl: Path.Combine(root, "tapo_triplets.jsonl"),
            EvalJsonl: eval.Select(e => e.FilePath).ToList());
        var world = new FgvrSynthWorld
        {
            Options = options, Root = root, SuperCategories = superCategories, Species = species, Images = images,
            Captions = captions, Facts = facts, Sft = sft, Tapo = tapo, Eval = eval, Files = files,
        };
        WriteFiles(world);
        world.GenerationTime = clock.Elapsed;
        return world;
    }

    internal static string PoolFolder(SynthImagePool pool) => pool switch
    {
        SynthImagePool.Pretrain => "pretrain",
        SynthImagePool.Train => "train",
        _ => "test",
    };

    private static readonly string[] OwnedFiles =
        [WorldFileName, "stage1_cot_sft.json", "stage1_direct_sft.json", "dataset_info.json", "tapo_triplets.jsonl"];

    private static void PrepareFolder(string root, IReadOnlyList<SuperCategory> superCategories)
    {
        if (!Directory.Exists(root)) { Directory.CreateDirectory(root); return; }
        if (!Directory.EnumerateFileSystemEntries(root).Any()) return;
        if (!File.Exists(Path.Combine(root, WorldFileName)))
            throw new IOException($"{root}: the output folder is not empty and holds no FGVR-Synth world ({WorldFileName}); choose an empty folder.");
        // An earlier world: remove what FGVR-Synth writes, so no stale class folder survives.
        var dirs = Enum.GetValues<SuperCategoryKind>().Select(k => SuperCategoryCatalog.Get(k).Key);
        foreach (var d in dirs.Append("pretrain").Append("eval"))
        {
            var path = Path.Combine(root, d);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        foreach (var f in OwnedFiles) File.Delete(Path.Combine(root, f));
    }

    private static List<SynthImage> PlanImages(List<Species> species, FgvrSynthOptions o, string root)
    {
        var images = new List<SynthImage>();
        foreach (var s in species)
            foreach (var (pool, count) in new[] { (SynthImagePool.Pretrain, o.PretrainImagesPerSpecies), (SynthImagePool.Train, o.TrainImagesPerSpecies), (SynthImagePool.Test, o.TestImagesPerSpecies) })
                for (int n = 0; n < count; n++)
                {
                    var rel = $"{s.SuperCategory.Key}/{PoolFolder(pool)}/{s.FolderName}/{s.FolderName}_{n:D4}.png";
                    images.Add(new SynthImage(s, pool, n, rel, Path.Combine(root, rel.Replace('/', Path.DirectorySeparatorChar))));
                }
        foreach (var dir in images.Select(i => Path.GetDirectoryName(i.Path)!).Distinct()) Directory.CreateDirectory(dir);
        return images;
    }

    private static void RenderAll(List<SynthImage> images, FgvrSynthOptions o)
    {
        Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = o.MaxDegreeOfParallelism }, i =>
        {
            var img = images[i];
            var rng = SynthRandom.For(o.Seed, Streams.Image, img.Species.Index, (int)img.Pool, img.Number);
            File.WriteAllBytes(img.Path, SceneRenderer.RenderPng(img.Species, o.ImageSize, (float)o.Variation, rng));
        });
    }

    /// <summary>
    /// Up to <paramref name="count"/> other species of the same super-category, nearest first: one-attribute neighbours
    /// (in random order), then two-attribute ones, and so on.
    /// </summary>
    internal static List<Species> Nearest(Species s, IReadOnlyList<Species> pool, int count, SynthRandom rng)
    {
        var others = pool.Where(o => o != s && o.SuperCategory == s.SuperCategory).ToList();
        rng.Shuffle(others);
        return others.OrderBy(o => s.Distance(o)).Take(count).ToList(); // OrderBy is stable: random within a distance
    }

    private static List<SftExample> BuildSft(List<Species> species, Dictionary<(int, SynthImagePool, int), SynthImage> images, FgvrSynthOptions o)
    {
        var list = new List<SftExample>();
        foreach (var s in species.Where(s => s.IsSeen))
            for (int shot = 0; shot < o.Shots; shot++)
            {
                var rng = SynthRandom.For(o.Seed, Streams.Sft, s.Index, shot);
                var question = rng.Pick(s.SuperCategory.TrainQuestions);
                var candidates = Nearest(s, species, 3, rng).Append(s).ToList();
                rng.Shuffle(candidates);
                list.Add(new SftExample(images[(s.Index, SynthImagePool.Train, shot)], question, candidates, Rationale.Build(s, candidates)));
            }
        return list;
    }

    private static List<TapoTriplet> BuildTapo(List<Species> species, Dictionary<(int, SynthImagePool, int), SynthImage> images, FgvrSynthOptions o)
    {
        var list = new List<TapoTriplet>();
        foreach (var s in species.Where(s => s.IsSeen))
        {
            // The split gives every seen species a seen one-attribute neighbour (the nearest seen species otherwise).
            var negatives = s.NeighboursIn(species.Where(n => n.IsSeen));
            for (int shot = 0; shot < o.Shots; shot++)
            {
                var rng = SynthRandom.For(o.Seed, Streams.Tapo, s.Index, shot);
                var positive = images[(s.Index, SynthImagePool.Train, o.Shots + rng.Next(o.TrainImagesPerSpecies - o.Shots))];
                var negSpecies = negatives.Count > 0 ? rng.Pick(negatives) : Nearest(s, species.Where(n => n.IsSeen).ToList(), 1, rng)[0];
                var negative = images[(negSpecies.Index, SynthImagePool.Train, rng.Next(o.TrainImagesPerSpecies))];
                var question = rng.Pick(s.SuperCategory.TrainQuestions);
                list.Add(new TapoTriplet(images[(s.Index, SynthImagePool.Train, shot)], positive, negative, SynthTurns.TapoProblem(question), s.Name));
            }
        }
        return list;
    }

    private static List<EvalSplit> BuildEval(List<SuperCategory> superCategories, List<Species> species,
        Dictionary<(int, SynthImagePool, int), SynthImage> images, FgvrSynthOptions o, string root)
    {
        var splits = new List<EvalSplit>();
        foreach (var sc in superCategories)
            foreach (var seen in new[] { true, false })
            {
                var records = new List<EvalRecord>();
                foreach (var s in species.Where(s => s.SuperCategory == sc && s.IsSeen == seen))
                    for (int n = 0; n < o.TestImagesPerSpecies; n++)
                    {
                        var rng = SynthRandom.For(o.Seed, Streams.Eval, s.Index, n);
                        var question = rng.Pick(sc.EvalQuestions);
                        var options = Nearest(s, species, 3, rng).Select(d => d.Name).Prepend(s.Name).ToList();
                        rng.Shuffle(options);   // the released files put the truth first; a demo model must not win by position
                        records.Add(new EvalRecord(images[(s.Index, SynthImagePool.Test, n)], question, options, s.Name));
                    }
                var file = Path.Combine(root, "eval", $"{sc.Noun}_{(seen ? "seen" : "unseen")}.jsonl");
                splits.Add(new EvalSplit(sc, seen, file, records));
            }
        return splits;
    }

    private static void WriteFiles(FgvrSynthWorld w)
    {
        var f = w.Files;
        Directory.CreateDirectory(Path.GetDirectoryName(f.CaptionsJsonl)!);
        Directory.CreateDirectory(Path.Combine(w.Root, "eval"));
        SynthFileWriter.WriteJsonl(f.CaptionsJsonl, w.Captions.Select(c => PyJson.Object(("image", c.Image.RelativePath), ("text", c.Text))));
        SynthFileWriter.WriteJsonl(f.FactsJsonl, w.Facts.Select(x => PyJson.Object(("species", x.Species.Name), ("text", x.Text))));
        SynthFileWriter.WriteShareGpt(f.CotSftJson, w.Sft, withReasoning: true);
        SynthFileWriter.WriteShareGpt(f.DirectSftJson, w.Sft, withReasoning: false);
        SynthFileWriter.WriteDatasetInfo(f.DatasetInfoJson,
            ("fgvr-synth-cot-sft", Path.GetFileName(f.CotSftJson)), ("fgvr-synth-direct-sft", Path.GetFileName(f.DirectSftJson)));
        SynthFileWriter.WriteJsonl(f.TapoJsonl, w.Tapo.Select(t => PyJson.Object(
            ("image", t.Anchor.RelativePath), ("image_pos", t.Positive.RelativePath), ("image_neg", t.Negative.RelativePath),
            ("problem", t.Problem), ("answer", t.Answer))));
        foreach (var split in w.Eval)
            SynthFileWriter.WriteJsonl(split.FilePath, split.Records.Select(r => PyJson.Object(
                ("image_path", r.Image.RelativePath), ("question", r.Question), ("options", r.Options), ("ground_truth", r.GroundTruth))));
        SynthFileWriter.WriteWorld(f.WorldJson, w);
    }
}
