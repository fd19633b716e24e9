using FineR1.Core.Imaging;
using FineR1.Training.Data;

namespace FineR1.Training.Tapo.Data;

/// <summary>
/// Builds TAPO triplets from a folder-per-class dataset (paper §4.3; the released code has no triplet construction,
/// docs/method.md §9 item 14). For each anchor:
/// <list type="bullet">
/// <item>positive: a random other image of the same class (seeded);</item>
/// <item>negative class: the other class whose centroid embedding has the highest cosine similarity to the anchor's
/// embedding ("most visually similar but distinct subcategory"); the negative image is the image of that class most
/// similar to the anchor (a hard negative).</item>
/// </list>
/// Embeddings come from the caller's embedder; <see cref="VisionEmbedding"/> gives the model's own mean-pooled
/// vision-tower features, which is what the trainer uses by default.
/// </summary>
public static class TripletMiner
{
    /// <summary>Triplets for <paramref name="anchors"/> (e.g. <see cref="ClassFolderDataset.TakeShots"/>) drawn from
    /// all images of <paramref name="dataset"/>.</summary>
    /// <param name="dataset">All labelled images (positive and negative pools).</param>
    /// <param name="anchors">Anchor images (each must belong to <paramref name="dataset"/>).</param>
    /// <param name="problem">Builds the user text for an anchor (keep the <c>&lt;image&gt;</c> placeholder).</param>
    /// <param name="embed">Image → embedding (any length, same for all images).</param>
    /// <param name="seed">Seed of the positive choice.</param>
    /// <param name="load">Image loader (default <see cref="ImageDecoder.Load"/>).</param>
    /// <exception cref="DatasetException">Fewer than two classes, or an anchor's class has no second image.</exception>
    public static IReadOnlyList<TapoSample> Mine(ClassFolderDataset dataset, IReadOnlyList<LabelledImage> anchors,
        Func<LabelledImage, string> problem, Func<RgbImage, float[]> embed, int seed = 1, Func<string, RgbImage>? load = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(anchors);
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(embed);
        load ??= p => ImageDecoder.Load(p);
        if (dataset.Classes.Count < 2) throw new DatasetException("hard negatives need at least two classes.", dataset.Root);

        var images = new Dictionary<string, RgbImage>(StringComparer.Ordinal);
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        RgbImage Image(LabelledImage i) => images.TryGetValue(i.ImagePath, out var m) ? m : images[i.ImagePath] = load(i.ImagePath);
        float[] Vector(LabelledImage i) => vectors.TryGetValue(i.ImagePath, out var v) ? v : vectors[i.ImagePath] = Normalise(embed(Image(i)));

        var byClass = dataset.Images.GroupBy(i => i.ClassName).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var centroids = byClass.ToDictionary(kv => kv.Key, kv => Normalise(Mean(kv.Value.Select(Vector).ToList())), StringComparer.Ordinal);
        var rng = new Random(seed);
        var samples = new List<TapoSample>(anchors.Count);
        foreach (var anchor in anchors)
        {
            var same = byClass.GetValueOrDefault(anchor.ClassName)?.Where(i => i.ImagePath != anchor.ImagePath).ToList() ?? [];
            if (same.Count == 0)
                throw new DatasetException($"class '{anchor.ClassName}' needs a second image for the positive of {Path.GetFileName(anchor.ImagePath)}.", dataset.Root);
            var positive = same[rng.Next(same.Count)];
            var a = Vector(anchor);
            var negativeClass = centroids.Where(c => c.Key != anchor.ClassName)
                .OrderByDescending(c => Cosine(a, c.Value)).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key;
            var negative = byClass[negativeClass].OrderByDescending(i => Cosine(a, Vector(i)))
                .ThenBy(i => i.ImagePath, StringComparer.Ordinal).First();
            samples.Add(TapoSample.Create(problem(anchor), anchor.ClassName, Image(anchor), Image(positive), Image(negative),
                Path.GetFileName(anchor.ImagePath)));
        }
        return samples;
    }

    /// <summary>Cosine similarity of two equally long vectors (0 when either is zero).</summary>
    public static double Cosine(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"embeddings differ in length ({a.Count} vs {b.Count}).");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Count; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    private static float[] Mean(List<float[]> vs)
    {
        var m = new float[vs[0].Length];
        foreach (var v in vs) for (int i = 0; i < m.Length; i++) m[i] += v[i] / vs.Count;
        return m;
    }

    private static float[] Normalise(float[] v)
    {
        double n = Math.Sqrt(v.Sum(x => (double)x * x));
        return n == 0 ? v : v.Select(x => (float)(x / n)).ToArray();
    }
}
