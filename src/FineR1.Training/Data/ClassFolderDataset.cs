namespace FineR1.Training.Data;

/// <summary>One labelled image of a folder-per-class dataset.</summary>
/// <param name="ImagePath">Absolute path.</param>
/// <param name="ClassName">Sub-category name (the folder name, see <see cref="ClassFolderDataset.ClassNameFromFolder"/>).</param>
public sealed record LabelledImage(string ImagePath, string ClassName);

/// <summary>
/// A plain dataset layout for users' own data: <c>root/&lt;sub-category&gt;/*.jpg</c> (PNG, JPEG, WebP, BMP, GIF).
/// Folder names become class names (underscores read as spaces, e.g. <c>Painted_Bunting</c> → "Painted Bunting";
/// a leading <c>NNN.</c> index as in CUB's <c>016.Painted_Bunting</c> is dropped).
/// </summary>
public sealed class ClassFolderDataset
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif" };

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Class names, sorted ordinally (a stable order for seeds and splits).</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>All images, by class then file name.</summary>
    public IReadOnlyList<LabelledImage> Images { get; }

    private ClassFolderDataset(string root, IReadOnlyList<string> classes, IReadOnlyList<LabelledImage> images)
    {
        Root = root; Classes = classes; Images = images;
    }

    /// <summary>Scans <paramref name="root"/>.</summary>
    /// <exception cref="DatasetException">Missing root, no class folders, or a class folder without images.</exception>
    public static ClassFolderDataset Load(string root)
    {
        if (!Directory.Exists(root)) throw new DatasetException("dataset folder not found.", root);
        var images = new List<LabelledImage>();
        var classes = new List<string>();
        foreach (var dir in Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
        {
            var name = ClassNameFromFolder(Path.GetFileName(dir));
            var files = Directory.GetFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f)))
                .OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DatasetException($"class folder '{Path.GetFileName(dir)}' has no images.", root);
            classes.Add(name);
            images.AddRange(files.Select(f => new LabelledImage(Path.GetFullPath(f), name)));
        }
        if (classes.Count == 0) throw new DatasetException("no class sub-folders found (expected root/<class>/<image>).", root);
        return new ClassFolderDataset(Path.GetFullPath(root), classes, images);
    }

    /// <summary><c>016.Painted_Bunting</c> → <c>Painted Bunting</c>.</summary>
    public static string ClassNameFromFolder(string folder)
    {
        int dot = folder.IndexOf('.');
        // An index prefix is digits, a dot, then a non-digit ("016.Painted_Bunting"); "3.5_inch" is a name.
        if (dot > 0 && dot + 1 < folder.Length && folder[..dot].All(char.IsAsciiDigit) && !char.IsAsciiDigit(folder[dot + 1]))
            folder = folder[(dot + 1)..];
        return folder.Replace('_', ' ').Trim();
    }

    /// <summary>
    /// The first <paramref name="shots"/> images of each class after a seeded shuffle (the paper trains with 4 shots per
    /// seen sub-category). Classes with fewer images contribute all they have.
    /// </summary>
    public IReadOnlyList<LabelledImage> TakeShots(int shots, int seed)
    {
        if (shots <= 0) throw new ArgumentOutOfRangeException(nameof(shots), "shots must be positive.");
        var rng = new Random(seed);
        return Images.GroupBy(i => i.ClassName)
            .SelectMany(g => g.OrderBy(_ => rng.Next()).Take(shots))
            .ToList();
    }
}
