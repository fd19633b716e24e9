using FineR1.Core.Generation;
using FineR1.Inference.Classification;

namespace FineR1.Inference.Tests.Classification;

public sealed class ClassificationBatcherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_requests_become_one_batch_and_a_bad_one_fails_alone()
    {
        var inner = new RecordingClassifier();
        await using var batcher = new ClassificationBatcher(inner, new BatchingOptions { MaxBatchSize = 3, MaxWait = TimeSpan.FromSeconds(5) });
        var tasks = new[] { "a.png", "bad.png", "c.png" }.Select(p => batcher.ClassifyAsync(new ClassificationRequest(p), Ct)).ToList();

        Assert.Equal("a.png", (await tasks[0]).Answer);
        Assert.Equal("c.png", (await tasks[2]).Answer);
        var e = await Assert.ThrowsAsync<ClassificationRequestException>(() => tasks[1]);
        Assert.Contains("bad.png", e.Message);
        Assert.Equal([3], batcher.BatchSizes);                                  // one batch of three (full: no waiting)
        Assert.Equal([3, 1, 1, 1], inner.Calls);                                // refused, then each alone
    }

    [Fact]
    public async Task A_lone_request_waits_at_most_MaxWait()
    {
        var inner = new RecordingClassifier();
        await using var batcher = new ClassificationBatcher(inner, new BatchingOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromMilliseconds(50) });
        var result = await batcher.ClassifyAsync(new ClassificationRequest("a.png"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal("a.png", result.Answer);
        Assert.Equal([1], batcher.BatchSizes);
    }

    /// <summary>Answers each request with its image name; a request for "bad.png" makes the whole call fail.</summary>
    private sealed class RecordingClassifier : IFineGrainedClassifier
    {
        public List<int> Calls { get; } = [];

        public async Task<ClassificationResult> ClassifyAsync(ClassificationRequest request, CancellationToken cancellationToken = default)
        {
            await foreach (var r in ClassifyBatchAsync([request], cancellationToken)) return r;
            throw new InvalidOperationException();
        }

        public async IAsyncEnumerable<ClassificationResult> ClassifyBatchAsync(IEnumerable<ClassificationRequest> requests,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var list = requests.ToList();
            lock (Calls) Calls.Add(list.Count);
            await Task.Yield();
            if (list.Any(r => r.ImagePath == "bad.png")) throw new ClassificationRequestException("not decodable.", "bad.png");
            foreach (var r in list) yield return Result(r, list.Count);
        }

        public IAsyncEnumerable<StreamedToken> StreamAsync(ClassificationRequest request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        private static ClassificationResult Result(ClassificationRequest r, int batch) => new()
        {
            Request = r, Answer = r.ImagePath, ModelAnswer = r.ImagePath, Reasoning = ReasoningParts.Parse(""), RawText = "", Text = "",
            TokenIds = [], FinishReason = FinishReason.Stop, Candidates = null, BatchSize = batch,
            Timings = new ClassificationTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero),
        };
    }
}
