namespace FineR1.Inference.Classification;

/// <summary>
/// Fine-grained visual classification: what application code depends on (a web endpoint, a chat adapter, a test
/// double), implemented by <see cref="FineGrainedClassifier"/> and registered by <c>AddFineR1Inference</c>.
/// </summary>
public interface IFineGrainedClassifier
{
    /// <summary>Classifies one image.</summary>
    /// <exception cref="ClassificationRequestException">Missing or unreadable image; empty, blank or duplicate candidates.</exception>
    Task<ClassificationResult> ClassifyAsync(ClassificationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Classifies many images in generation batches, yielding results in request order.</summary>
    IAsyncEnumerable<ClassificationResult> ClassifyBatchAsync(IEnumerable<ClassificationRequest> requests, CancellationToken cancellationToken = default);

    /// <summary>Streams the generated text of one request as it is produced.</summary>
    IAsyncEnumerable<StreamedToken> StreamAsync(ClassificationRequest request, CancellationToken cancellationToken = default);
}
