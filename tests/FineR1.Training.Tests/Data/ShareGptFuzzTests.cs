using System.Text;
using System.Text.Json.Nodes;
using FineR1.Training.Data;

namespace FineR1.Training.Tests.Data;

/// <summary>Mutated ShareGPT SFT files (fixed seed): loaded or refused with <see cref="DatasetException"/> naming the record, nothing else.</summary>
public class ShareGptFuzzTests
{
    public const int Cases = 400;

    [Fact(Timeout = 120_000)]
    public async Task Mutated_ShareGPT_records_give_DatasetException_only() => await Task.Run(() =>
    {
        var all = JsonNode.Parse(File.ReadAllText(TestPaths.Fixture("sft", "stage1-cot-sft.json")))!.AsArray();
        var original = new JsonArray(all.Take(3).Select(r => r!.DeepClone()).ToArray()).ToJsonString();
        using var dir = new TempDir();
        var refused = Fuzzer.Run<DatasetException>(seed: 14, Cases, (fuzz, i) =>
        {
            var path = dir.File($"case{i}.json");
            var bytes = i % 4 == 0 ? fuzz.Bytes(Encoding.UTF8.GetBytes(original)) : Encoding.UTF8.GetBytes(fuzz.Json(original));
            File.WriteAllBytes(path, bytes);
            var records = ShareGptDataset.Load(path, imageRoot: dir.Path, requireImages: false);
            Assert.All(records, r => Assert.All(r.ImagePaths, p => Assert.StartsWith(dir.Path, p)));   // never outside the root
        });
        Assert.InRange(refused, Cases / 10, Cases);
    }, TestContext.Current.CancellationToken);

    [Fact]
    public void An_image_path_leaving_the_root_is_refused_with_the_record_index_unless_allowed()
    {
        using var dir = new TempDir();
        var path = dir.File("data.json");
        File.WriteAllText(path, """[{"messages":[{"role":"user","content":"<image>q"},{"role":"assistant","content":"a"}],"images":["../../etc/passwd"]}]""");
        var e = Assert.Throws<DatasetException>(() => ShareGptDataset.Load(path, requireImages: false));
        Assert.Equal(0, e.RecordIndex);
        Assert.Contains("leaves the image root", e.Message);
        Assert.Single(ShareGptDataset.Load(path, requireImages: false, allowImagesOutsideRoot: true));
        Assert.Throws<DatasetException>(() => ShareGptDataset.Load("/dev/zero"));
    }
}
