using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

/// <summary>Answers by image file name; records every call. A name mapped to null makes the whole batch throw.</summary>
internal sealed class FakePredictor(Dictionary<string, string?> outputs) : IFineGrainedPredictor
{
    public List<IReadOnlyList<PredictionRequest>> Calls { get; } = [];

    public Task<IReadOnlyList<string>> PredictAsync(IReadOnlyList<PredictionRequest> requests, CancellationToken cancellationToken)
    {
        Calls.Add(requests);
        var result = new List<string>();
        foreach (var r in requests)
        {
            var output = outputs[Path.GetFileName(r.ImagePath)] ?? throw new InvalidOperationException("GPU on fire");
            result.Add(output);
        }
        return Task.FromResult<IReadOnlyList<string>>(result);
    }
}

/// <summary>IProgress that records synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
internal sealed class ListProgress<T> : IProgress<T>
{
    public List<T> Reports { get; } = [];
    public void Report(T value) { lock (Reports) Reports.Add(value); }
}
