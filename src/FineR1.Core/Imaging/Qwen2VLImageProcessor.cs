using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Imaging;

/// <summary>
/// Qwen2-VL / Qwen2.5-VL image preprocessing as HF <c>Qwen2VLImageProcessor</c>: decode → RGB → <see cref="SmartResize"/>
/// → antialiased bicubic resize → rescale 1/255 and CLIP-normalise → patchify to <c>[grid_t·grid_h·grid_w, 1176]</c>.
/// </summary>
/// <remarks>
/// Patch row order (HF's reshape/transpose): rows walk 2×2 merge blocks in raster order, and inside a block its four
/// patches in raster order; so for grid_w = 8, rows 0,1,2,3 are patches (0,0),(0,1),(1,0),(1,1), rows 4..7 the next block
/// to the right (0,2),(0,3),(1,2),(1,3). Each row holds channel-major values: <c>[c][t][py][px]</c> (3·2·14·14 = 1176),
/// the single image repeated for both temporal slots.
/// </remarks>
public sealed class Qwen2VLImageProcessor
{
    private readonly float[][] _lut; // per channel: normalised value of each byte

    /// <summary>The settings in use.</summary>
    public Qwen2VLImageProcessorOptions Options { get; }

    /// <summary>Creates a processor; <paramref name="options"/> defaults to the Qwen2.5-VL checkpoint settings.</summary>
    public Qwen2VLImageProcessor(Qwen2VLImageProcessorOptions? options = null)
    {
        Options = options ?? new Qwen2VLImageProcessorOptions();
        Options.Validate();
        _lut = BuildLookup(Options);
    }

    /// <summary>Loads, decodes and preprocesses image files (rows concatenated in order).</summary>
    /// <exception cref="ImageProcessingException">Missing, empty or corrupt file; aspect ratio above 200.</exception>
    public ProcessedImages Process(params string[] paths) =>
        Process(paths.Select(p => (ImageDecoder.Load(p, Options.ApplyExifOrientation), (string?)p)).ToArray());

    /// <summary>Decodes (files, encoded bytes, bitmaps: <see cref="ImageInput"/>) and preprocesses images (rows concatenated in order).</summary>
    /// <exception cref="ImageProcessingException">Missing, empty or corrupt image; aspect ratio above 200.</exception>
    public ProcessedImages Process(params ImageInput[] images) =>
        Process(images.Select(i => (i.Decode(Options.ApplyExifOrientation), (string?)i.Name)).ToArray());

    /// <summary>Preprocesses decoded images (rows concatenated in order).</summary>
    public ProcessedImages Process(params RgbImage[] images) => Process(images.Select(i => (i, (string?)null)).ToArray());

    /// <summary>Preprocesses decoded images, naming <paramref name="sources"/> in errors (the processor's path).</summary>
    internal ProcessedImages Process(IReadOnlyList<RgbImage> images, IReadOnlyList<string?> sources) =>
        Process(images.Select((image, i) => (image, sources[i])).ToArray());

    private unsafe ProcessedImages Process((RgbImage Image, string? Source)[] images)
    {
        if (images.Length == 0) throw new ArgumentException("no images given.");
        var planned = images.Select(x =>
        {
            var (h, w, grid) = PlanResize(x.Image.Height, x.Image.Width, x.Source);
            return (Resized: BicubicResampler.Resize(x.Image, w, h, Options.Compatibility), Grid: grid);
        }).ToArray();
        int rows = planned.Sum(p => p.Grid.PatchCount);
        int cols = PatchDim;
        var grids = planned.Select(p => p.Grid).ToArray();
        var pixelValues = torch.empty([rows, cols], ScalarType.Float32);
        try
        {
            // Fill the tensor's own (native, unmoving) memory: no managed staging copy.
            fixed (byte* start = pixelValues.bytes)
            {
                float* dst = (float*)start;
                foreach (var (resized, grid) in planned)
                {
                    WritePatches(resized, grid, dst);
                    dst += (long)grid.PatchCount * cols;
                }
            }
        }
        catch
        {
            pixelValues.Dispose();
            throw;
        }
        var gridThw = VisionGrid.ToTensor(grids);
        return new ProcessedImages(pixelValues, gridThw, grids, Options.MergeSize);
    }

    /// <summary>Values per patch row: <c>3 · TemporalPatchSize · PatchSize²</c> (1176).</summary>
    public int PatchDim => 3 * Options.TemporalPatchSize * Options.PatchSize * Options.PatchSize;

    /// <summary>The size an image of <paramref name="width"/>×<paramref name="height"/> is resized to, and its grid.</summary>
    public (int Height, int Width, VisionGrid Grid) PlanResize(int height, int width, string? source = null)
    {
        var (h, w) = SmartResize.Compute(height, width, Options.Factor, Options.MinPixels, Options.MaxPixels, source);
        return (h, w, new VisionGrid(1, h / Options.PatchSize, w / Options.PatchSize));
    }

    /// <summary>
    /// Resizes and normalises one image and returns its patches as a flat row-major <c>[patches, 1176]</c> array.
    /// </summary>
    public unsafe (float[] Values, VisionGrid Grid) Patchify(RgbImage image, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (h, w, grid) = PlanResize(image.Height, image.Width, source);
        var resized = BicubicResampler.Resize(image, w, h, Options.Compatibility);
        var values = new float[(long)grid.PatchCount * PatchDim];
        fixed (float* dst = values) WritePatches(resized, grid, dst);
        return (values, grid);
    }

    // Writes grid.PatchCount rows of PatchDim floats at dst from an image already resized to the grid.
    private unsafe void WritePatches(RgbImage resized, VisionGrid grid, float* dst)
    {
        int ps = Options.PatchSize, ms = Options.MergeSize, tps = Options.TemporalPatchSize;
        int patchArea = ps * ps, cols = PatchDim, w = resized.Width;
        var px = resized.Pixels;
        var luts = _lut;
        int blocksW = grid.W / ms;
        nint basePtr = (nint)dst;
        Parallel.For(0, grid.PatchCount, row =>
        {
            float* values = (float*)basePtr + (long)row * cols;
            // row -> (block row, block col, row in block, col in block), raster order at both levels
            int inBlock = row % (ms * ms), block = row / (ms * ms);
            int py0 = ((block / blocksW) * ms + inBlock / ms) * ps;
            int px0 = ((block % blocksW) * ms + inBlock % ms) * ps;
            for (int c = 0; c < 3; c++)
            {
                var lut = luts[c];
                float* channel = values + c * tps * patchArea;
                for (int y = 0; y < ps; y++)
                {
                    int src = ((py0 + y) * w + px0) * 3 + c;
                    float* line = channel + y * ps;
                    for (int x = 0; x < ps; x++, src += 3) line[x] = lut[px[src]];
                }
                for (int t = 1; t < tps; t++)
                    Buffer.MemoryCopy(channel, channel + t * patchArea, patchArea * sizeof(float), patchArea * sizeof(float));
            }
        });
    }

    // HF's float32 arithmetic, one value per byte. Torchvision backend: (v - mean·255) / (std·255) with mean/std scaled in
    // float32 (fused rescale+normalise). Pillow/NumPy path: x = float32(v · (1/255) in float64), then (x - mean) / std.
    private static float[][] BuildLookup(Qwen2VLImageProcessorOptions o)
    {
        var lut = new float[3][];
        float inverse = (float)(1.0 / o.RescaleFactor);
        for (int c = 0; c < 3; c++)
        {
            lut[c] = new float[256];
            float mean = o.ImageMean[c], std = o.ImageStd[c];
            float meanScaled = mean * inverse, stdScaled = std * inverse;
            for (int v = 0; v < 256; v++)
                lut[c][v] = o.Compatibility == ResampleCompatibility.Torchvision
                    ? ((float)v - meanScaled) / stdScaled
                    : ((float)(v * o.RescaleFactor) - mean) / std;
        }
        return lut;
    }
}
