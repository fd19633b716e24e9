using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

public class EvalFileReaderTests
{
    private static string Tiny(string name) => TestPaths.Fixture("eval", "tiny", name);

    [Fact]
    public void Bad_lines_become_failures_with_file_and_line_and_reading_goes_on()
    {
        var lines = EvalFileReader.Read(Tiny("car_unseen.jsonl")).ToList();
        Assert.Equal(3, lines.Count);                                   // the blank line 3 is skipped
        Assert.Equal("Suzuki Aerio Sedan 2007", lines[0].Record!.GroundTruth);
        Assert.Equal(1, lines[0].Record!.LineNumber);
        Assert.Equal(4, lines[0].Record!.Options.Count);
        Assert.Equal(2, lines[1].Failure!.LineNumber);
        Assert.Contains("not valid JSON", lines[1].Failure!.Message);
        Assert.StartsWith(Tiny("car_unseen.jsonl") + ":2: ", lines[1].Failure!.ToString());
        Assert.Equal(4, lines[2].Failure!.LineNumber);
        Assert.Contains("'options' is missing or empty", lines[2].Failure!.Message);
    }

    [Fact]
    public void Open_world_does_not_need_options()
    {
        var lines = EvalFileReader.Read(Tiny("car_unseen.jsonl"), requireOptions: false).ToList();
        Assert.NotNull(lines[2].Record);
        Assert.Empty(lines[2].Record!.Options);
    }

    [Theory]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{\"question\": \"q\", \"options\": [\"a\"], \"ground_truth\": \"a\"}", "'image_path'")]
    [InlineData("{\"image_path\": \"x.jpg\", \"options\": [\"a\"], \"ground_truth\": \"a\"}", "'question'")]
    [InlineData("{\"image_path\": \"x.jpg\", \"question\": \"q\", \"options\": [\"a\"]}", "'ground_truth'")]
    [InlineData("{\"image_path\": \"x.jpg\", \"question\": \"q\", \"options\": \"a\", \"ground_truth\": \"a\"}", "'options' is not a list")]
    [InlineData("{\"image_path\": \"x.jpg\", \"question\": \"q\", \"options\": [1], \"ground_truth\": \"a\"}", "not a string")]
    public void Each_kind_of_bad_record_is_named(string line, string expected)
    {
        var parsed = EvalFileReader.Parse(line, "f.jsonl", 7);
        Assert.Null(parsed.Record);
        Assert.Contains(expected, parsed.Failure!.Message);
        Assert.Equal(7, parsed.Failure.LineNumber);
    }

    [Fact]
    public void Reads_a_line_of_the_released_files()
    {
        const string line = """{"image_path": "fgvc_aircraft/data/images/0116175.jpg", "question": "What is the aircraft featured in this picture?", "options": ["Boeing 727-200", "Fokker 70", "MD-87", "Fokker 100"], "ground_truth": "Boeing 727-200"}""";
        var r = EvalFileReader.Parse(line, "aircraft_seen.jsonl", 1).Record!;
        Assert.Equal(("fgvc_aircraft/data/images/0116175.jpg", "Boeing 727-200"), (r.ImagePath, r.GroundTruth));
        Assert.Equal(["Boeing 727-200", "Fokker 70", "MD-87", "Fokker 100"], r.Options);
    }

    [Fact]
    public void A_missing_file_is_a_typed_error_naming_it()
    {
        var e = Assert.Throws<EvalDataException>(() => EvalFileReader.Read("/nowhere/x_seen.jsonl"));
        Assert.Contains("/nowhere/x_seen.jsonl", e.Message);
    }

    [Theory]
    [InlineData("bird_seen.jsonl", "bird", "seen")]
    [InlineData("car_unseen.jsonl", "car", "unseen")]
    [InlineData("my_data.jsonl", "my_data", null)]
    public void File_names_give_dataset_and_split(string name, string dataset, string? split) =>
        Assert.Equal((dataset, split), EvaluationRunner.ParseFileName(name));
}
