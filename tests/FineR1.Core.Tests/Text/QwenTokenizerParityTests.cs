using System.IO.Compression;
using System.Text;
using System.Text.Json;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

[Trait("Category", "Parity")]
public class QwenTokenizerParityTests
{
    private sealed record Case(string Text, int[] Ids);

    private static List<Case> ReadCases(string path)
    {
        using var file = System.IO.File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var doc = JsonDocument.Parse(stream);
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToList();
    }

    /// <summary>Encodes every case and decodes it back; returns a description of each failure (at most 20).</summary>
    private static List<string> Check(IEnumerable<Case> cases)
    {
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        var failures = new List<string>();
        var index = 0;
        foreach (var c in cases)
        {
            var ids = tok.Encode(c.Text);
            if (!ids.SequenceEqual(c.Ids))
                failures.Add($"case {index} {JsonSerializer.Serialize(c.Text)}: expected [{string.Join(",", c.Ids)}] got [{string.Join(",", ids)}]");
            var back = tok.Decode(c.Ids);
            var nfc = c.Text.Normalize(NormalizationForm.FormC);
            if (back != nfc) failures.Add($"case {index} {JsonSerializer.Serialize(c.Text)}: decodes to {JsonSerializer.Serialize(back)}");
            index++;
            if (failures.Count >= 20) break;
        }
        return failures;
    }

    [Fact]
    public void Every_reference_case_encodes_to_the_HF_ids_and_decodes_to_its_NFC_text()
    {
        var cases = ReadCases(TestPaths.Fixture("tokenizer", "reference-ids.json"));
        Assert.Equal(1548, cases.Count);
        var failures = Check(cases);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Every_case_file_named_in_FINER1_TOKENIZER_CASES_matches()
    {
        var files = TestPaths.FromEnvironment("FINER1_TOKENIZER_CASES").ToList();
        if (files.Count == 0) Assert.Skip("FINER1_TOKENIZER_CASES is not set (':'-separated JSON files, optionally .gz, shaped {\"cases\":[{\"text\",\"ids\"}]}).");
        foreach (var file in files)
        {
            Assert.True(System.IO.File.Exists(file), $"FINER1_TOKENIZER_CASES names {file}, which does not exist.");
            var failures = Check(ReadCases(file));
            Assert.True(failures.Count == 0, file + ":\n" + string.Join("\n", failures));
        }
    }

    [Theory]
    [InlineData("Hello, world!", new[] { 9707, 11, 1879, 0 })]
    [InlineData("12345.678", new[] { 16, 17, 18, 19, 20, 13, 21, 22, 23 })]
    [InlineData("你好，世界！今天天气很好。", new[] { 108386, 3837, 99489, 6313, 100644, 104307, 101243, 1773 })]
    [InlineData("<|vision_start|><|image_pad|><|image_pad|><|vision_end|>", new[] { 151652, 151655, 151655, 151653 })]
    [InlineData("<think>", new[] { 13708, 766, 29 })]
    public void Known_ids_from_the_spec(string text, int[] expected) =>
        Assert.Equal(expected, QwenTokenizerFixture.Qwen2_5_VL.Encode(text));
}
