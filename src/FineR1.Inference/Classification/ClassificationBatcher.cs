using System.Threading.Channels;

namespace FineR1.Inference.Classification;

/// <summary>Batching of concurrent single requests (<see cref="ClassificationBatcher"/>).</summary>
public sealed record BatchingOptions
{
    /// <summary>The most requests put into one generation batch.</summary>
    public int MaxBatchSize { get; init; } = 4;
    /// <summary>How long the first request of a batch waits for others to join it.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(20);
}

/// <summary>
/// An <see cref="IFineGrainedClassifier"/> that gathers concurrent <see cref="ClassifyAsync"/> calls (e.g. the
/// requests a web server handles at the same time) into one generation batch: the first waiting request opens a batch,
/// others join it until <see cref="BatchingOptions.MaxBatchSize"/> or <see cref="BatchingOptions.MaxWait"/>, and the
/// batch is classified together. One bad request does not fail the others: if a batch is refused, its requests are
/// retried one by one so that only the bad one gets the error.
/// </summary>
/// <remarks>
/// The inner classifier's <see cref="ClassifierOptions.BatchSize"/> caps the rows of one generation: set it to at least
/// <see cref="BatchingOptions.MaxBatchSize"/>. Batched rows are left-padded; their greedy outputs equal the unbatched ones
/// up to floating-point rounding (see the classifier's batch test).
/// </remarks>
public sealed class ClassificationBatcher : IFineGrainedClassifier, IAsyncDisposable
{
    private sealed record Pending(ClassificationRequest Request, TaskCompletionSource<ClassificationResult> Result, CancellationToken Cancellation);

    private readonly IFineGrainedClassifier _inner;
    private readonly BatchingOptions _options;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;

    /// <summary>Starts the batching loop over <paramref name="inner"/>.</summary>
    public ClassificationBatcher(IFineGrainedClassifier inner, BatchingOptions? options = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _options = options ?? new BatchingOptions();
        if (_options.MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), "BatchingOptions.MaxBatchSize must be at least 1.");
        if (_options.MaxWait < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "BatchingOptions.MaxWait must not be negative.");
        _worker = Task.Run(RunAsync);
    }

    /// <summary>The size of every batch run so far, in order (for monitoring and tests).</summary>
    public IReadOnlyList<int> BatchSizes { get { lock (_sizes) return _sizes.ToList(); } }
    private readonly List<int> _sizes = [];

    /// <summary>Queues the request; it is classified with the requests that arrive with it.</summary>
    public Task<ClassificationResult> ClassifyAsync(ClassificationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pending = new Pending(request, new TaskCompletionSource<ClassificationResult>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(ClassificationBatcher));
        cancellationToken.Register(() => pending.Result.TrySetCanceled(cancellationToken));
        return pending.Result.Task;
    }

    /// <summary>Passes through to the inner classifier (already a batch).</summary>
    public IAsyncEnumerable<ClassificationResult> ClassifyBatchAsync(IEnumerable<ClassificationRequest> requests, CancellationToken cancellationToken = default) =>
        _inner.ClassifyBatchAsync(requests, cancellationToken);

    /// <summary>Passes through to the inner classifier (streaming is one request at a time).</summary>
    public IAsyncEnumerable<StreamedToken> StreamAsync(ClassificationRequest request, CancellationToken cancellationToken = default) =>
        _inner.StreamAsync(request, cancellationToken);

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                var batch = new List<Pending>();
                if (!reader.TryRead(out var first)) continue;
                batch.Add(first);
                using (var window = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    window.CancelAfter(_options.MaxWait);
                    try
                    {
                        while (batch.Count < _options.MaxBatchSize)
                        {
                            if (reader.TryRead(out var next)) batch.Add(next);
                            else if (!await reader.WaitToReadAsync(window.Token).ConfigureAwait(false)) break;
                        }
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { /* the wait is over */ }
                }
                batch.RemoveAll(p => p.Result.Task.IsCompleted);   // cancelled while waiting
                if (batch.Count > 0) await RunBatchAsync(batch).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        while (reader.TryRead(out var left)) left.Result.TrySetException(new ObjectDisposedException(nameof(ClassificationBatcher)));
    }

    private async Task RunBatchAsync(List<Pending> batch)
    {
        lock (_sizes) _sizes.Add(batch.Count);
        try
        {
            int i = 0;
            await foreach (var result in _inner.ClassifyBatchAsync(batch.Select(p => p.Request).ToList(), _stop.Token).ConfigureAwait(false))
                batch[i++].Result.TrySetResult(result);
        }
        catch (ClassificationRequestException) when (batch.Count > 1)
        {
            // One request was bad: give each its own answer or its own error.
            foreach (var p in batch)
            {
                try { p.Result.TrySetResult(await _inner.ClassifyAsync(p.Request, p.Cancellation).ConfigureAwait(false)); }
                catch (Exception e) { p.Result.TrySetException(e); }
            }
        }
        catch (Exception e)
        {
            foreach (var p in batch) p.Result.TrySetException(e);
        }
    }

    /// <summary>Stops the loop; requests still queued fail with <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _worker.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
