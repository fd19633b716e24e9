using FineR1.Training.Data;

namespace FineR1.Training.Tests.Data;

public class ShareGptDatasetTests
{
    private static string PaperFile => TestPaths.Fixture("sft", "stage1-cot-sft.json");

    [Fact]
    public void Reads_all_404_records_of_the_paper_stage1_file()
    {
        var records = ShareGptDataset.Load(PaperFile, imageRoot: "/data/fgvr", requireImages: false);
        Assert.Equal(404, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal(["system", "user", "assistant"], r.Turns.Select(t => t.Role));
            Assert.Single(r.ImagePaths);
            Assert.StartsWith("/data/fgvr/", r.ImagePaths[0]);
            Assert.Matches(@"</think>\s*<answer>.+</answer>$", r.Assistant);
        });
        Assert.Equal(Enumerable.Range(0, 404), records.Select(r => r.Index));
    }

    [Fact]
    public void A_missing_image_names_the_file_and_the_record()
    {
        var e = Assert.Throws<DatasetException>(() => ShareGptDataset.Load(PaperFile, imageRoot: "/nonexistent"));
        Assert.Equal(0, e.RecordIndex);
        Assert.Contains("stage1-cot-sft.json: record 0: image not found", e.Message);
    }

    [Theory]
    [InlineData("{", "invalid JSON")]
    [InlineData("{}", "JSON array")]
    [InlineData("""[{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"x"}]}, 3]""", "record 1: a record must be a JSON object")]
    [InlineData("""[{"images":[]}]""", "record 0: missing 'messages'")]
    [InlineData("""[{"messages":[{"role":"robot","content":"x"}]}]""", "unknown role 'robot'")]
    [InlineData("""[{"messages":[{"role":"user","content":"x"}]}]""", "last turn must be the assistant")]
    [InlineData("""[{"messages":[{"role":"user","content":"<image><image>x"},{"role":"assistant","content":"y"}],"images":["a.jpg"]}]""", "2 '<image>' placeholder(s) but 1 image(s)")]
    [InlineData("""[{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}],"images":[""]}]""", "non-empty strings")]
    public void Malformed_files_are_reported_with_the_record_index(string json, string expected)
    {
        using var tmp = TestPaths.NewTempDir();
        var file = tmp.File("data.json");
        File.WriteAllText(file, json);
        var e = Assert.Throws<DatasetException>(() => ShareGptDataset.Load(file, requireImages: false));
        Assert.Contains(expected, e.Message);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        var e = Assert.Throws<DatasetException>(() => ShareGptDataset.Load("/nonexistent/data.json"));
        Assert.Contains("file not found", e.Message);
    }
}
