using FineR1.Core.Hosting;
using FineR1.Core.Imaging;
using FineR1.Inference.Classification;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FineR1.WebApi;

/// <summary>The JSON answer of <c>POST /classify</c>.</summary>
/// <param name="Answer">The model's answer (or the constrained candidate).</param>
/// <param name="Reasoning">The chain of thought (the <c>&lt;think&gt;</c> text).</param>
/// <param name="Confidences">Per-candidate confidences, when computed.</param>
/// <param name="BatchSize">How many requests shared this request's generation batch.</param>
public sealed record ClassifyResponse(string? Answer, string Reasoning, IReadOnlyDictionary<string, double>? Confidences, int BatchSize);

/// <summary>Builds the web application: configuration, services (the model, the classifier, the batcher) and the endpoint.</summary>
public static class ClassificationService
{
    /// <summary>The largest upload accepted (the decoder applies its own pixel limits after this).</summary>
    public const long MaxImageBytes = 20 * 1024 * 1024;

    /// <summary>
    /// Creates the app. Configuration (command line, environment, appsettings): <c>FineR1:ModelPath</c>,
    /// <c>FineR1:Device</c>, <c>FineR1:MaxBatchSize</c> (default 4), <c>FineR1:MaxWaitMs</c> (default 20),
    /// <c>FineR1:MaxNewTokens</c> (default 2048).
    /// </summary>
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var section = builder.Configuration.GetSection("FineR1");
        int maxBatch = section.GetValue("MaxBatchSize", 4);
        builder.Services.AddFineR1Core(o =>
        {
            o.ModelPath = section["ModelPath"];
            o.Device = section["Device"] ?? "auto";
        });
        builder.Services.AddFineR1Inference(o =>
        {
            o.BatchSize = maxBatch;   // one generation holds a whole batch of requests
            o.MaxNewTokens = section.GetValue("MaxNewTokens", 2048);
            o.ComputeConfidences = true;
        });
        builder.Services.AddSingleton(sp => new ClassificationBatcher(sp.GetRequiredService<FineGrainedClassifier>(),
            new BatchingOptions { MaxBatchSize = maxBatch, MaxWait = TimeSpan.FromMilliseconds(section.GetValue("MaxWaitMs", 20)) }));

        var app = builder.Build();
        app.MapPost("/classify", ClassifyAsync).DisableAntiforgery();
        return app;
    }

    /// <summary>
    /// <c>POST /classify</c>, multipart form: <c>image</c> (file), <c>question</c> (optional), <c>candidates</c>
    /// (optional; comma-separated or repeated). 200 with <see cref="ClassifyResponse"/>; 400 with a problem detail naming
    /// what is wrong (no image, too large, not decodable, bad candidates).
    /// </summary>
    private static async Task<Results<Ok<ClassifyResponse>, ProblemHttpResult>> ClassifyAsync(
        HttpRequest http, ClassificationBatcher batcher, CancellationToken cancellationToken)
    {
        if (!http.HasFormContentType) return Bad("send a multipart form with an 'image' file.");
        var form = await http.ReadFormAsync(cancellationToken);
        var file = form.Files.GetFile("image");
        if (file is null || file.Length == 0) return Bad("the form has no 'image' file.");
        if (file.Length > MaxImageBytes) return Bad($"the image is larger than {MaxImageBytes} bytes.");
        await using var stream = file.OpenReadStream();
        var image = await ImageInput.FromStreamAsync(stream, file.FileName, cancellationToken);
        var question = form["question"].ToString();
        var candidates = form["candidates"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        var request = new ClassificationRequest(image, string.IsNullOrWhiteSpace(question) ? null : question, candidates.Count == 0 ? null : candidates);
        try
        {
            var result = await batcher.ClassifyAsync(request, cancellationToken);
            return TypedResults.Ok(new ClassifyResponse(result.Answer, result.Reasoning.Think,
                result.Candidates?.ToDictionary(c => c.Name, c => c.Confidence), result.BatchSize));
        }
        catch (ClassificationRequestException e)
        {
            return Bad(e.Message);
        }
    }

    private static ProblemHttpResult Bad(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad classification request");
}
