using FineR1.Training.Data;

namespace FineR1.Training.Tests.Data;

public class ClassFolderDatasetTests
{
    private static TempDir MakeDataset(params (string cls, int count)[] classes)
    {
        var tmp = TestPaths.NewTempDir();
        foreach (var (cls, count) in classes)
        {
            Directory.CreateDirectory(Path.Combine(tmp.Path, cls));
            for (int i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(tmp.Path, cls, $"img{i:D2}.jpg"), [0xFF, 0xD8]);
            File.WriteAllText(Path.Combine(tmp.Path, cls, "notes.txt"), "not an image");
        }
        return tmp;
    }

    [Fact]
    public void Folder_names_become_class_names()
    {
        Assert.Equal("Painted Bunting", ClassFolderDataset.ClassNameFromFolder("016.Painted_Bunting"));
        Assert.Equal("Boeing 727-200", ClassFolderDataset.ClassNameFromFolder("Boeing_727-200"));
        Assert.Equal("3.5 inch", ClassFolderDataset.ClassNameFromFolder("3.5_inch")); // only an all-digit prefix is an index
    }

    [Fact]
    public void Lists_classes_and_images_in_a_stable_order()
    {
        using var tmp = MakeDataset(("b_class", 3), ("a_class", 2));
        var ds = ClassFolderDataset.Load(tmp.Path);
        Assert.Equal(["a class", "b class"], ds.Classes);
        Assert.Equal(5, ds.Images.Count);
        Assert.All(ds.Images, i => Assert.EndsWith(".jpg", i.ImagePath));
    }

    [Fact]
    public void Shots_per_class_are_seeded()
    {
        using var tmp = MakeDataset(("a", 10), ("b", 10), ("c", 2));
        var ds = ClassFolderDataset.Load(tmp.Path);
        var s1 = ds.TakeShots(4, seed: 1);
        Assert.Equal(4 + 4 + 2, s1.Count);
        Assert.Equal(s1, ds.TakeShots(4, seed: 1));
        Assert.NotEqual(s1.Select(i => i.ImagePath), ds.TakeShots(4, seed: 2).Select(i => i.ImagePath));
    }

    [Fact]
    public void Empty_or_missing_folders_are_reported()
    {
        Assert.Contains("not found", Assert.Throws<DatasetException>(() => ClassFolderDataset.Load("/nonexistent")).Message);
        using var empty = TestPaths.NewTempDir();
        Assert.Contains("no class sub-folders", Assert.Throws<DatasetException>(() => ClassFolderDataset.Load(empty.Path)).Message);
        Directory.CreateDirectory(Path.Combine(empty.Path, "cls"));
        Assert.Contains("has no images", Assert.Throws<DatasetException>(() => ClassFolderDataset.Load(empty.Path)).Message);
    }
}
