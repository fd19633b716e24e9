using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

/// <summary>
/// Checks the released eval files when a developer points FINER1_EVAL_DATA at their folder (they are not copied into
/// the repository): every record reads, the counts are docs/method.md §6.2's, and the ground truth is option 0.
/// </summary>
public class ReleasedEvalFilesTests
{
    private static readonly Dictionary<string, int> Counts = new()
    {
        ["aircraft_seen.jsonl"] = 2002, ["aircraft_unseen.jsonl"] = 1331, ["bird_seen.jsonl"] = 3483, ["bird_unseen.jsonl"] = 2311,
        ["car_seen.jsonl"] = 4811, ["car_unseen.jsonl"] = 3230, ["dog_seen.jsonl"] = 5276, ["dog_unseen.jsonl"] = 3304,
        ["flower_seen.jsonl"] = 4028, ["flower_unseen.jsonl"] = 2121, ["pet_seen.jsonl"] = 2176, ["pet_unseen.jsonl"] = 1493,
    };

    [Fact]
    public void Every_released_record_reads_with_the_ground_truth_first()
    {
        var folder = TestPaths.FromEnvironment("FINER1_EVAL_DATA").FirstOrDefault();
        if (folder is null) Assert.Skip("set FINER1_EVAL_DATA to the folder of the released eval/*.jsonl files");
        int total = 0;
        foreach (var (file, expected) in Counts)
        {
            var lines = EvalFileReader.Read(Path.Combine(folder, file)).ToList();
            Assert.Empty(lines.Where(l => l.Failure is not null).Select(l => l.Failure!.ToString()));
            Assert.Equal(expected, lines.Count);
            Assert.All(lines, l => Assert.Equal(l.Record!.GroundTruth, l.Record.Options[0]));
            Assert.All(lines, l => Assert.Equal(4, l.Record!.Options.Count));
            total += lines.Count;
        }
        Assert.Equal(35566, total);
    }
}
