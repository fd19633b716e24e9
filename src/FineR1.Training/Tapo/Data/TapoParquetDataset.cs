using FineR1.Core.Imaging;
using FineR1.Training.Data;
using Parquet;
using Parquet.Serialization;

namespace FineR1.Training.Tapo.Data;

/// <summary>
/// Reader of the reference Stage-2 Parquet format (docs/method.md §5.1, HF card of the TAPO data): columns <c>images</c>,
/// <c>problem</c>, <c>answer</c>, <c>image_noisy</c> (positive) and <c>image_aug</c> (negative). Image columns are HF
/// <c>datasets</c> "list of Image" columns: <c>list&lt;struct&lt;bytes: binary, path: string&gt;&gt;</c> holding the encoded
/// file (PNG/JPEG/…) in <c>bytes</c>. The first image of each list is used (the released rows hold one).
/// Positives and negatives of a different size are resized to the anchor's (<see cref="TapoSample.Create"/>).
/// </summary>
public static class TapoParquetDataset
{
    /// <summary>Columns every file must have.</summary>
    public static readonly IReadOnlyList<string> RequiredColumns = ["images", "problem", "answer", "image_noisy", "image_aug"];

    /// <summary>Reads every row of <paramref name="path"/> and decodes its three images.</summary>
    /// <exception cref="DatasetException">Missing file, not Parquet, a missing column, an empty image list or an
    /// undecodable image (the message names the file and the row).</exception>
    public static IReadOnlyList<TapoSample> Load(string path) => LoadAsync(path).GetAwaiter().GetResult();

    /// <inheritdoc cref="Load"/>
    public static async Task<IReadOnlyList<TapoSample>> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path)) throw new DatasetException("TAPO Parquet file not found.", path);
        IList<TapoParquetRow> rows;
        try
        {
            await using var stream = File.OpenRead(path);
            await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken))
            {
                var names = reader.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
                var missing = RequiredColumns.Where(c => !names.Contains(c)).ToList();
                if (missing.Count > 0)
                    throw new DatasetException($"missing column(s) {string.Join(", ", missing)}; a TAPO file has {string.Join(", ", RequiredColumns)}.", path);
            }
            stream.Position = 0;
            rows = (await ParquetSerializer.DeserializeAsync<TapoParquetRow>(stream, cancellationToken: cancellationToken)).Data;
        }
        catch (DatasetException) { throw; }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or NotSupportedException or ArgumentException
                                      || e.GetType().Namespace?.StartsWith("Parquet", StringComparison.Ordinal) == true)
        {
            throw new DatasetException($"not a readable TAPO Parquet file ({e.Message}).", path, inner: e);
        }

        var samples = new List<TapoSample>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (string.IsNullOrEmpty(r.problem)) throw new DatasetException("empty 'problem'.", path, i);
            if (string.IsNullOrEmpty(r.answer)) throw new DatasetException("empty 'answer'.", path, i);
            var anchor = Decode(r.images, "images", path, i);
            var positive = Decode(r.image_noisy, "image_noisy", path, i);
            var negative = Decode(r.image_aug, "image_aug", path, i);
            samples.Add(TapoSample.Create(r.problem, r.answer, anchor, positive, negative, $"{Path.GetFileName(path)}#{i}"));
        }
        return samples;
    }

    private static RgbImage Decode(List<ParquetImage>? images, string column, string path, int row)
    {
        if (images is null || images.Count == 0 || images[0].bytes is not { Length: > 0 } bytes)
            throw new DatasetException($"column '{column}' holds no image bytes.", path, row);
        try
        {
            return ImageDecoder.Decode(bytes, $"{path}#{row}/{column}");
        }
        catch (ImageProcessingException e)
        {
            throw new DatasetException($"column '{column}': {e.Message}", path, row, e);
        }
    }
}

/// <summary>One row of the reference TAPO Parquet file (column names as in the file; public for the serializer).</summary>
public sealed class TapoParquetRow
{
#pragma warning disable IDE1006, CS1591 // Parquet column names.
    /// <summary>Anchor image(s).</summary>
    public List<ParquetImage>? images { get; set; }
    /// <summary>User text with <c>&lt;image&gt;</c>.</summary>
    public string? problem { get; set; }
    /// <summary>Ground truth.</summary>
    public string? answer { get; set; }
    /// <summary>Positive image(s): same sub-category.</summary>
    public List<ParquetImage>? image_noisy { get; set; }
    /// <summary>Negative image(s): a different sub-category.</summary>
    public List<ParquetImage>? image_aug { get; set; }
#pragma warning restore IDE1006, CS1591
}

/// <summary>An HF <c>datasets</c> Image cell: the encoded file and its original path.</summary>
public sealed class ParquetImage
{
#pragma warning disable IDE1006
    /// <summary>Encoded image file (PNG, JPEG, …).</summary>
    public byte[]? bytes { get; set; }
    /// <summary>Original path (may be null).</summary>
    public string? path { get; set; }
#pragma warning restore IDE1006
}
