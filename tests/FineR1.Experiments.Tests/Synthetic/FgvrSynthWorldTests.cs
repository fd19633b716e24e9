using FineR1.Experiments.Synthetic;
using FineR1.Experiments.Synthetic.Rendering;
using FineR1.Experiments.Synthetic.Taxonomy;
using SkiaSharp;

namespace FineR1.Experiments.Tests.Synthetic;

/// <summary>Determinism, taxonomy structure, split sizes, visibility of attributes and input errors.</summary>
public class FgvrSynthWorldTests
{
    // A small world that still has all three super-categories.
    private static readonly FgvrSynthOptions Small = FgvrSynthOptions.Default with
    {
        SpeciesPerSuperCategory = 5, TrainImagesPerSpecies = 5, TestImagesPerSpecies = 2, PretrainImagesPerSpecies = 1, Shots = 2,
    };

    private static Dictionary<string, byte[]> ReadAll(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public void Same_seed_gives_byte_identical_files_whatever_the_thread_count()
    {
        using var a = TestPaths.NewTempDir();
        using var b = TestPaths.NewTempDir();
        FgvrSynth.Generate(Small with { MaxDegreeOfParallelism = 1 }, a.Path);
        FgvrSynth.Generate(Small with { MaxDegreeOfParallelism = 4 }, b.Path);
        var fa = ReadAll(a.Path);
        var fb = ReadAll(b.Path);
        Assert.Equal(fa.Keys.Order(), fb.Keys.Order());
        Assert.True(fa.Count > 15 * 8, $"only {fa.Count} files");
        foreach (var (name, bytes) in fa) Assert.True(bytes.AsSpan().SequenceEqual(fb[name]), $"{name} differs");
    }

    [Fact]
    public void Regenerating_in_place_replaces_the_earlier_world()
    {
        using var dir = TestPaths.NewTempDir();
        FgvrSynth.Generate(Small with { Seed = 5 }, dir.Path);
        var w = FgvrSynth.Generate(Small, dir.Path);
        using var fresh = TestPaths.NewTempDir();
        FgvrSynth.Generate(Small, fresh.Path);
        var again = ReadAll(dir.Path);
        var expected = ReadAll(fresh.Path);
        Assert.Equal(expected.Keys.Order(), again.Keys.Order()); // no stale class folders of seed 5
        Assert.All(expected, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(again[kv.Key])));
        Assert.Equal(Path.GetFullPath(dir.Path), w.Root);
    }

    [Fact]
    public void A_different_seed_gives_a_different_world()
    {
        using var a = TestPaths.NewTempDir();
        using var b = TestPaths.NewTempDir();
        var wa = FgvrSynth.Generate(Small, a.Path);
        var wb = FgvrSynth.Generate(Small with { Seed = 2 }, b.Path);
        Assert.NotEqual(wa.Species.Select(s => s.Name), wb.Species.Select(s => s.Name));
        Assert.False(File.ReadAllBytes(wa.Images[0].Path).AsSpan().SequenceEqual(File.ReadAllBytes(wb.Images[0].Path)));
        // Within one world, two images of the same species differ too (intra-class variation).
        var twins = wa.ImagesOf(wa.Species[0], SynthImagePool.Train);
        Assert.False(File.ReadAllBytes(twins[0].Path).AsSpan().SequenceEqual(File.ReadAllBytes(twins[1].Path)));
    }

    [Theory]
    [InlineData(8, 5, 3)]
    [InlineData(5, 3, 2)]
    [InlineData(10, 6, 4)]
    [InlineData(4, 2, 2)]
    public void Split_is_60_40_per_super_category_and_every_species_has_a_one_attribute_neighbour(int n, int seen, int unseen)
    {
        for (int seed = 1; seed <= 12; seed++)
        {
            var species = TaxonomyBuilder.Build(FgvrSynthOptions.Default with { Seed = seed, SpeciesPerSuperCategory = n });
            Assert.Equal(3 * n, species.Count);
            Assert.Equal(Enumerable.Range(0, 3 * n), species.Select(s => s.Index));
            foreach (var group in species.GroupBy(s => s.SuperCategory))
            {
                Assert.Equal(seen, group.Count(s => s.IsSeen));
                Assert.Equal(unseen, group.Count(s => !s.IsSeen));
                Assert.Equal(n, group.Select(s => string.Join(",", s.Values)).Distinct().Count());
                foreach (var s in group)
                {
                    Assert.Contains(group, o => s.Distance(o) == 1);
                    if (s.IsSeen) Assert.Contains(group, o => o.IsSeen && s.Distance(o) == 1);
                }
            }
            var names = species.Select(s => s.Name.ToLowerInvariant()).ToList();
            foreach (var x in names)
                Assert.Single(names, y => y.Contains(x)); // no name inside another (substring scoring)
        }
    }

    [Fact]
    public void Distance_counts_differing_attributes()
    {
        var species = TaxonomyBuilder.Build(FgvrSynthOptions.Quick);
        var s = species[0];
        Assert.Equal(0, s.Distance(s));
        foreach (var o in species.Where(o => o.SuperCategory == s.SuperCategory))
            Assert.Equal(Enumerable.Range(0, s.Values.Count).Count(a => s.Values[a] != o.Values[a]), s.Distance(o));
        var other = species.First(o => o.SuperCategory != s.SuperCategory);
        Assert.Equal(s.Values.Count, s.Distance(other));
    }

    /// <summary>Every attribute is visible: two canonical images (no nuisance) of one-attribute neighbours differ in many pixels.</summary>
    [Fact]
    public void Changing_any_single_attribute_changes_the_canonical_image_visibly()
    {
        foreach (var sc in new[] { SuperCategoryCatalog.Birds, SuperCategoryCatalog.Butterflies, SuperCategoryCatalog.Aircraft })
        {
            var baseValues = new int[sc.Attributes.Count];
            using var baseImage = Render(sc, baseValues);
            for (int a = 0; a < sc.Attributes.Count; a++)
                for (int v = 1; v < sc.Attributes[a].Values.Count; v++)
                {
                    var values = (int[])baseValues.Clone();
                    values[a] = v;
                    using var image = Render(sc, values);
                    int changed = ChangedPixels(baseImage, image);
                    Assert.True(changed >= 60, $"{sc.Key}: {sc.Attributes[a].Name} = {sc.Attributes[a].Values[v].Word} changes only {changed} pixels at 112×112");
                }
        }
    }

    private static SKBitmap Render(SuperCategory sc, int[] values)
    {
        var species = new Species(0, "Test Species", sc, values);
        var png = SceneRenderer.RenderPng(species, 112, 0f, SynthRandom.For(1, 99));
        return SKBitmap.Decode(png);
    }

    private static int ChangedPixels(SKBitmap a, SKBitmap b)
    {
        int n = 0;
        for (int y = 0; y < a.Height; y++)
            for (int x = 0; x < a.Width; x++)
            {
                SKColor p = a.GetPixel(x, y), q = b.GetPixel(x, y);
                if (Math.Abs(p.Red - q.Red) + Math.Abs(p.Green - q.Green) + Math.Abs(p.Blue - q.Blue) > 60) n++;
            }
        return n;
    }

    [Fact]
    public void Images_are_opaque_pngs_of_the_configured_size()
    {
        using var dir = TestPaths.NewTempDir();
        var w = FgvrSynth.Generate(Small with { ImageSize = 56, SuperCategories = [SuperCategoryKind.Aircraft] }, dir.Path);
        foreach (var img in w.Images.Take(5))
        {
            using var bmp = SKBitmap.Decode(img.Path);
            Assert.Equal(56, bmp.Width);
            Assert.Equal(56, bmp.Height);
            Assert.All(bmp.Pixels, p => Assert.Equal(255, p.Alpha));
        }
    }

    [Theory]
    [InlineData("SpeciesPerSuperCategory")]
    [InlineData("ImageSize")]
    [InlineData("TrainImagesPerSpecies")]
    [InlineData("SeenFraction")]
    [InlineData("SuperCategories")]
    [InlineData("Variation")]
    public void Invalid_options_name_the_setting(string setting)
    {
        var bad = setting switch
        {
            "SpeciesPerSuperCategory" => Small with { SpeciesPerSuperCategory = 3 },
            "ImageSize" => Small with { ImageSize = 100 },
            "TrainImagesPerSpecies" => Small with { TrainImagesPerSpecies = Small.Shots },
            "SeenFraction" => Small with { SeenFraction = 1 },
            "SuperCategories" => Small with { SuperCategories = [] },
            _ => Small with { Variation = 2 },
        };
        using var dir = TestPaths.NewTempDir();
        var e = Assert.ThrowsAny<ArgumentException>(() => FgvrSynth.Generate(bad, dir.Path));
        Assert.Equal(setting, e.ParamName);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    [Fact]
    public void A_folder_with_foreign_content_is_refused_and_left_alone()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("notes.txt"), "mine");
        var e = Assert.Throws<IOException>(() => FgvrSynth.Generate(Small, dir.Path));
        Assert.Contains(Path.GetFullPath(dir.Path), e.Message);
        Assert.Contains("not empty", e.Message);
        Assert.Equal("mine", File.ReadAllText(dir.File("notes.txt")));
    }

    [Fact]
    public void Default_world_has_24_species_and_quick_has_10()
    {
        Assert.Equal(24, TaxonomyBuilder.Build(FgvrSynthOptions.Default).Count);
        Assert.Equal(10, TaxonomyBuilder.Build(FgvrSynthOptions.Quick).Count);
    }
}
