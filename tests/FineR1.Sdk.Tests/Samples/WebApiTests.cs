using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using FineR1.Inference.Tests.Classification;
using FineR1.WebApi;
using Microsoft.AspNetCore.Builder;

namespace FineR1.Sdk.Tests.Samples;

/// <summary>The web sample on Kestrel (loopback, a free port) with a tiny model, called by a real HTTP client.</summary>
public sealed class WebApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Candidates = "Black Footed Albatross,Heermann Gull,Sooty Albatross,Laysan Albatross";

    private static MultipartFormDataContent Form(byte[] image, string fileName = "bird.png", string? candidates = Candidates)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", fileName);
        form.Add(new StringContent("What bird is this?"), "question");
        if (candidates != null) form.Add(new StringContent(candidates), "candidates");
        return form;
    }

    [Fact]
    public async Task Concurrent_requests_share_one_generation_batch_and_bad_ones_get_400()
    {
        using var dir = TestPaths.NewTempDir();
        using (var tiny = new TinyQwen()) tiny.SaveFolder(dir.Path);
        await using var app = ClassificationService.Build([
            "--urls=http://127.0.0.1:0", $"--FineR1:ModelPath={dir.Path}", "--FineR1:Device=cpu",
            "--FineR1:MaxBatchSize=4", "--FineR1:MaxWaitMs=3000", "--FineR1:MaxNewTokens=6",
            "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromMinutes(2) };
        var image = await File.ReadAllBytesAsync(TinyQwen.Image1, Ct);

        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => http.PostAsync("/classify", Form(image), Ct)));
        var answers = new List<ClassifyResponse>();
        foreach (var r in responses)
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            answers.Add((await r.Content.ReadFromJsonAsync<ClassifyResponse>(Ct))!);
        }
        Assert.All(answers, a => Assert.Equal(3, a.BatchSize));
        Assert.All(answers, a => Assert.Equal(1.0, a.Confidences!.Values.Sum(), 6));

        // Alone, the same request gets the same answer from a batch of one (identical rows: no padding).
        using var single = await http.PostAsync("/classify", Form(image), Ct);
        var alone = (await single.Content.ReadFromJsonAsync<ClassifyResponse>(Ct))!;
        Assert.Equal(1, alone.BatchSize);
        Assert.All(answers, a => Assert.Equal((alone.Answer, alone.Reasoning), (a.Answer, a.Reasoning)));

        using var corrupt = await http.PostAsync("/classify", Form([1, 2, 3, 4], "broken.png"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, corrupt.StatusCode);
        Assert.Contains("broken.png", await corrupt.Content.ReadAsStringAsync(Ct));
        using var noImage = await http.PostAsync("/classify", new FormUrlEncodedContent([new("question", "x")]), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, noImage.StatusCode);
        using var duplicate = await http.PostAsync("/classify", Form(image, candidates: "a,a"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Contains("twice", await duplicate.Content.ReadAsStringAsync(Ct));
        await app.StopAsync(Ct);
    }
}
