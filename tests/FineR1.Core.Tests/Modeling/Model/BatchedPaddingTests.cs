using System.Text.Json;
using FineR1.Core.Modeling;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary>Left-padded batches: each row behaves as if alone; HF's batched greedy generation is reproduced.</summary>
[Trait("Category", "Parity")]
public sealed class BatchedPaddingTests(ITestOutputHelper output)
{
    public static TheoryData<string> Folders() => ParityFixture.Folders();

    [Theory]
    [MemberData(nameof(Folders))]
    public void LeftPaddedBatch_MatchesRowsAlone_AndHFGreedy(string folder)
    {
        var batchFile = Path.Combine(folder, "batch_generate.json");
        if (!File.Exists(batchFile)) Assert.Skip("no batch_generate.json in this fixture");
        using var fx = ParityFixture.Open(folder);
        var (model, _) = fx.LoadModel();
        using var _m = model;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        var json = JsonDocument.Parse(File.ReadAllText(batchFile)).RootElement;
        var prompts = json.GetProperty("prompts").EnumerateArray()
            .Select(p => p.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        var expected = json.GetProperty("generated").EnumerateArray()
            .Select(p => p.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        long pad = json.GetProperty("pad_token_id").GetInt64();
        int batch = prompts.Length, length = prompts.Max(p => p.Length), newTokens = expected[0].Length;

        var ids = new long[batch * length];
        var mask = new long[batch * length];
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < length; j++)
            {
                int k = j - (length - prompts[r].Length);
                ids[r * length + j] = k < 0 ? pad : prompts[r][k];
                mask[r * length + j] = k < 0 ? 0 : 1;
            }
        var inputIds = tensor(ids, [batch, length]);
        var attention = tensor(mask, [batch, length]);

        // Each row's own images (a row may hold several, or none), concatenated in row then prompt order as a
        // processor returns them; features from the vision tower.
        var rowImages = Enumerable.Range(0, batch).Select(r => ParityFixture.ImagesOfRow(fx.Config, fx.Json, json, prompts[r], r)).ToArray();
        (Tensor? Grid, Tensor? Embeds) Features(IReadOnlyList<int> images)
        {
            if (images.Count == 0) return (null, null);
            var (g, pixels) = fx.Images(images);
            return (g, model.model.GetImageFeatures(pixels, g));
        }
        var (grid, embeds) = Features([.. rowImages.SelectMany(i => i)]);

        var (positions, deltas) = RopeIndex.GetRopeIndex(fx.Config, inputIds, grid, attention);
        using var cache = KvCache.Create(fx.Config.Text, batch, length + newTokens);
        var logits = model.forward(inputIds: inputIds, positionIds: positions, attentionMask: attention, cache: cache,
            imageGridThw: grid, imageEmbeds: embeds, logitsToKeep: 1).Logits;                 // [B, 1, V]

        // Each row alone gives the same last-token logits.
        for (int r = 0; r < batch; r++)
        {
            var rowIds = tensor(prompts[r], [1, prompts[r].Length]);
            var (rowGrid, rowEmbeds) = Features(rowImages[r]);
            var alone = model.forward(inputIds: rowIds, imageGridThw: rowGrid, imageEmbeds: rowEmbeds, logitsToKeep: 1).Logits;
            double rel = ParityFixture.RelativeError(logits[r], alone[0]);
            output.WriteLine($"row {r}: padded vs alone last-token logits rel {rel:E3}");
            Assert.True(rel <= 1e-5, $"row {r}: {rel:E3}");
        }

        // Greedy decoding through the cache reproduces HF's batched generation.
        var generated = new List<long>[batch];
        for (int r = 0; r < batch; r++) generated[r] = [];
        for (int step = 0; step < newTokens; step++)
        {
            var next = logits[.., -1].argmax(-1);                                            // [B]
            var nextHost = next.data<long>().ToArray();
            for (int r = 0; r < batch; r++) generated[r].Add(nextHost[r]);
            attention = cat([attention, ones(batch, 1, dtype: ScalarType.Int64)], 1);
            logits = model.forward(inputIds: next.view(batch, 1), positionIds: RopeIndex.DecodePositions(deltas, cache.Length),
                attentionMask: attention, cache: cache).Logits;
        }
        for (int r = 0; r < batch; r++) Assert.Equal(expected[r], generated[r]);
    }
}
