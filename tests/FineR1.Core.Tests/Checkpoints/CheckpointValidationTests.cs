using System.Text;
using FineR1.Core.Checkpoints;
using TorchSharp;
using static FineR1.Core.Tests.Checkpoints.CheckpointTestFiles;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Checkpoints;

/// <summary>Every kind of bad checkpoint fails with a <see cref="CheckpointException"/> naming the file and the problem.</summary>
public sealed class CheckpointValidationTests
{
    private static CheckpointException OpenFails(string path, string expectedMessagePart)
    {
        var e = Assert.Throws<CheckpointException>(() => { using var _ = SafetensorsCheckpoint.Open(path); });
        Assert.Contains(expectedMessagePart, e.Message);
        Assert.Contains(Path.GetFileName(e.FilePath!), e.Message);
        return e;
    }

    [Fact]
    public void ZeroByteFile()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("model.safetensors"), []);
        var e = OpenFails(dir.Path, "empty file (0 bytes)");
        Assert.Equal(dir.File("model.safetensors"), e.FilePath);
    }

    [Fact]
    public void FileShorterThanTheLengthPrefix()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("a.safetensors"), [1, 2, 3]);
        OpenFails(dir.File("a.safetensors"), "truncated: 3 bytes");
    }

    [Fact]
    public void HeaderLengthPastTheEnd()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{}", [], declaredLength: 4096);
        OpenFails(dir.File("a.safetensors"), "header length 4096 runs past the end of the file (10 bytes)");
    }

    [Fact]
    public void TruncatedCopyOfTheFixture()
    {
        using var dir = TestPaths.NewTempDir();
        var bytes = File.ReadAllBytes(TinyA);
        File.WriteAllBytes(dir.File("model.safetensors"), bytes[..(bytes.Length / 2)]);
        OpenFails(dir.Path, "out of range (data section is");
    }

    [Fact]
    public void CorruptJsonHeader()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{\"w\":{\"dtype\":\"F32\",", new byte[8]);
        OpenFails(dir.File("a.safetensors"), "corrupt header (not JSON)");
    }

    [Fact]
    public void HeaderThatIsNotAnObject()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "[1, 2, 3]", []);
        OpenFails(dir.File("a.safetensors"), "does not start with '{'");
    }

    [Fact]
    public void MalformedEntry()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]);
        OpenFails(dir.File("a.safetensors"), "tensor 'w': malformed header entry");
    }

    [Fact]
    public void OverlappingDataOffsets()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"),
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            new byte[12]);
        OpenFails(dir.File("a.safetensors"), "tensors 'a' and 'b' overlap");
    }

    [Fact]
    public void OutOfRangeDataOffsets()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        OpenFails(dir.File("a.safetensors"), "tensor 'a': data_offsets [0, 16] out of range (data section is 8 bytes)");
    }

    [Fact]
    public void OffsetsThatDisagreeWithTheShape()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        OpenFails(dir.File("a.safetensors"), "8 bytes for shape [3] F32 (12 expected)");
    }

    [Fact]
    public void UnknownDType()
    {
        using var dir = TestPaths.NewTempDir();
        WriteRaw(dir.File("a.safetensors"), "{\"a\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        OpenFails(dir.File("a.safetensors"), "unknown dtype 'F7'");
    }

    [Fact]
    public void FolderWithoutACheckpoint()
    {
        using var dir = TestPaths.NewTempDir();
        OpenFails(dir.Path, "no model.safetensors or model.safetensors.index.json");
    }

    [Fact]
    public void MissingShardNamedInTheIndex()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = new TinyVl(tied: false).Randomize(1);
        var saved = CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { MaxShardSize = 600 });
        File.Delete(saved.Files[1]);

        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(model, dir.Path));

        Assert.Contains($"shard '{Path.GetFileName(saved.Files[1])}' named in the index is missing", e.Message);
        Assert.Equal(saved.IndexPath, e.FilePath);
    }

    [Fact]
    public void CorruptIndex()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"metadata\": {\"total_size\": 8}");
        OpenFails(dir.Path, "corrupt index (not JSON)");
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"metadata\": {\"total_size\": 8}}");
        OpenFails(dir.Path, "no \"weight_map\" object");
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"../evil.safetensors\"}}");
        OpenFails(dir.Path, "not a plain file name");
    }

    [Fact]
    public void IndexPointingAtTheWrongShard()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = new TinyVl(tied: false).Randomize(1);
        var saved = CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { MaxShardSize = 600 });
        var index = File.ReadAllText(saved.IndexPath!);
        var first = saved.WeightMap.First(kv => kv.Value == Path.GetFileName(saved.Files[0])).Key;
        index = index.Replace($"\"{first}\": \"{Path.GetFileName(saved.Files[0])}\"", $"\"{first}\": \"{Path.GetFileName(saved.Files[1])}\"");
        File.WriteAllText(saved.IndexPath!, index);

        var e = OpenFails(dir.Path, $"the index puts tensor '{first}' in this shard, but its header does not list it");
        Assert.Equal(saved.Files[1], e.FilePath);
    }

    [Fact]
    public void ShardTruncatedAfterOpen_IsReportedWhileReading()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("model.safetensors");
        SafetensorsWriter.Write(path, [new("w", torch.ones(1024))]);
        using var file = SafetensorsFile.Open(path);
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) s.SetLength(s.Length - 100);

        var e = Assert.Throws<CheckpointException>(() => file.Read("w"));
        Assert.Contains("the file ended early", e.Message);
    }

    [Fact]
    public void ReadOfAnUnknownName()
    {
        using var file = SafetensorsFile.Open(TinyA);
        var e = Assert.Throws<CheckpointException>(() => file.Read("no.such.weight"));
        Assert.Contains("tensor 'no.such.weight' not found", e.Message);
    }

    [Fact]
    public void FixtureHeader_ParsesAsHfWroteIt()
    {
        using var file = SafetensorsFile.Open(TinyA);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(80, file.Entries.Count);
        Assert.All(file.Entries.Values, e => Assert.Equal("F32", e.DType));
        Assert.Equal([512L, 64L], file.Entries["model.embed_tokens.weight"].Shape);
        Assert.DoesNotContain("lm_head.weight", file.Entries.Keys);
    }
}
