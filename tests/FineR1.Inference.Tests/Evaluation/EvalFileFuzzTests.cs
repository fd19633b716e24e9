using System.Text;
using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

/// <summary>Mutated eval JSONL (fixed seed): a bad line becomes a failure naming file and line; no exception, no record outside the image root.</summary>
public class EvalFileFuzzTests
{
    public const int Cases = 600;

    [Fact(Timeout = 120_000)]
    public async Task Mutated_eval_lines_become_line_failures_never_exceptions() => await Task.Run(() =>
    {
        const string line = """{"image_path": "CUB/images/001.jpg", "question": "What bird is this?", "options": ["Laysan Albatross", "Sooty Albatross"], "ground_truth": "Laysan Albatross"}""";
        using var dir = new TempDir();
        var failed = Fuzzer.Run<EvalDataException>(seed: 14, Cases, (fuzz, i) =>
        {
            var mutated = i % 3 == 0 ? Encoding.UTF8.GetString(fuzz.Bytes(Encoding.UTF8.GetBytes(line))) : fuzz.Json(line);
            var parsed = EvalFileReader.Parse(mutated, "bird_seen.jsonl", i + 1);
            Assert.True((parsed.Record is null) != (parsed.Failure is null));
            if (parsed.Failure is { } f) Assert.Equal(("bird_seen.jsonl", i + 1), (f.SourceFile, f.LineNumber));

            // The whole-file check before a run: it never throws for a bad line, only for an unusable file.
            var file = dir.File($"case{i}.jsonl");
            File.WriteAllText(file, mutated + "\n");
            var problems = EvaluationRunner.CheckInputs(new EvaluationOptions { Files = [file], ImageRoot = dir.Path }, out var records);
            Assert.Equal(records, problems.Count);          // the image never exists here, so every record is reported
        });
        Assert.Equal(0, failed);
    }, TestContext.Current.CancellationToken);

    [Fact]
    public void Image_paths_that_leave_the_root_fail_the_record()
    {
        using var dir = new TempDir();
        var file = dir.File("bird_seen.jsonl");
        File.WriteAllText(file, """{"image_path":"../outside.png","question":"q","options":["a"],"ground_truth":"a"}""" + "\n" +
                                """{"image_path":"/etc/hostname","question":"q","options":["a"],"ground_truth":"a"}""" + "\n");
        var problems = EvaluationRunner.CheckInputs(new EvaluationOptions { Files = [file], ImageRoot = dir.Path }, out _);
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Contains("leaves the image root", p.Message));
        Assert.Throws<EvalDataException>(() => EvaluationRunner.CheckInputs(new EvaluationOptions { Files = ["/dev/zero"], ImageRoot = dir.Path }, out _));
    }
}
