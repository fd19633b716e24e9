namespace FineR1.Core.Imaging;

/// <summary>
/// Antialiased bicubic resize of 8-bit RGB images that reproduces Pillow's <c>Image.resize(BICUBIC)</c> or torchvision's
/// uint8 bicubic antialias resize exactly (see <see cref="ResampleCompatibility"/>).
/// </summary>
/// <remarks>
/// The algorithm (ported from the ideas of Pillow's <c>libImaging/Resample.c</c> and PyTorch's
/// <c>UpSampleKernel.cpp</c>): for each output coordinate <c>i</c>, with <c>scale = in/out</c> and
/// <c>fs = max(scale, 1)</c>, the source centre is <c>(i + 0.5)·scale</c>; the taps run from
/// <c>xmin = max(0, (int)(centre − 2·fs + 0.5))</c> to <c>min(in, (int)(centre + 2·fs + 0.5))</c>, tap <c>x</c> weighs
/// <c>cubic((x − centre + 0.5)/fs)</c>, and the weights are normalised to sum 1 and rounded to fixed point. A row is the
/// integer sum of <c>pixel·weight</c> plus half an ulp, shifted right and clamped to 0..255. Horizontal pass first,
/// vertical second, each only when that side changes size.
/// Example: 150 → 140 wide, scale 1.0714, fs 1.0714, support 2.143: output x = 0 has centre 0.536 and taps 0..2.
/// </remarks>
public static class BicubicResampler
{
    private const int PillowPrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes <paramref name="image"/> to <paramref name="width"/>×<paramref name="height"/>; returns the same instance when the size is unchanged.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, ResampleCompatibility compatibility = ResampleCompatibility.Torchvision)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (width == image.Width && height == image.Height) return image;

        var current = image;
        if (width != image.Width)
        {
            var taps = Taps.Compute(image.Width, width, compatibility);
            var output = new byte[width * image.Height * 3];
            Horizontal(image.Pixels, image.Width, output, width, image.Height, taps);
            current = new RgbImage(width, image.Height, output);
        }
        if (height != image.Height)
        {
            var taps = Taps.Compute(image.Height, height, compatibility);
            var output = new byte[width * height * 3];
            Vertical(current.Pixels, output, width, height, taps);
            current = new RgbImage(width, height, output);
        }
        return current;
    }

    /// <summary>Fixed-point filter taps of one axis: output i reads <c>Count[i]</c> inputs from <c>First[i]</c> with <c>Weights[i·KernelSize + k]</c>.</summary>
    internal sealed class Taps
    {
        public required int[] First { get; init; }
        public required int[] Count { get; init; }
        public required int[] Weights { get; init; }
        public required int KernelSize { get; init; }
        public required int PrecisionBits { get; init; }

        public static Taps Compute(int inSize, int outSize, ResampleCompatibility compatibility)
        {
            const double support1 = 2.0; // bicubic support at scale 1
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = support1 * filterScale;
            bool torch = compatibility == ResampleCompatibility.Torchvision;
            // Pillow sizes its buffer with ceil(double); PyTorch with ceilf and clamps the tap count to it.
            int kernelSize = (torch ? (int)MathF.Ceiling((float)support) : (int)Math.Ceiling(support)) * 2 + 1;
            var first = new int[outSize];
            var count = new int[outSize];
            var weights = new double[outSize * (kernelSize + 1)];
            int stride = kernelSize + 1; // Pillow does not clamp; one spare slot covers its rare extra tap
            double invScale = 1.0 / filterScale;
            double maxWeight = 0;
            for (int i = 0; i < outSize; i++)
            {
                double center = (i + 0.5) * scale;
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int n = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                n = Math.Clamp(n, 0, torch ? kernelSize : stride);
                double total = 0;
                for (int k = 0; k < n; k++)
                {
                    double w = torch ? TorchCubic((k + xmin - center + 0.5) * invScale) : PillowCubic((k + xmin - center + 0.5) * invScale);
                    weights[i * stride + k] = w;
                    total += w;
                }
                if (total != 0)
                    for (int k = 0; k < n; k++)
                    {
                        weights[i * stride + k] /= total;
                        maxWeight = Math.Max(maxWeight, weights[i * stride + k]);
                    }
                first[i] = xmin;
                count[i] = n;
            }
            int precision = torch ? TorchPrecision(maxWeight) : PillowPrecisionBits;
            var fixedWeights = new int[weights.Length];
            double one = 1 << precision;
            for (int j = 0; j < weights.Length; j++)
            {
                double v = weights[j] * one;
                fixedWeights[j] = v < 0 ? (int)(-0.5 + v) : (int)(0.5 + v);
                if (torch) fixedWeights[j] = (short)fixedWeights[j];
            }
            return new Taps { First = first, Count = count, Weights = fixedWeights, KernelSize = stride, PrecisionBits = precision };
        }

        // PyTorch picks the most fraction bits (< 22) for which the largest weight still fits int16.
        private static int TorchPrecision(double maxWeight)
        {
            int p = 0;
            for (; p < 22; p++)
                if ((int)(0.5 + maxWeight * (1 << (p + 1))) >= 1 << 15) break;
            return p;
        }

        // Keys cubic, a = -0.5, written as Pillow evaluates it.
        private static double PillowCubic(double x)
        {
            const double a = -0.5;
            if (x < 0) x = -x;
            if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
            return 0;
        }

        // The same cubic, written as PyTorch evaluates it (last-bit differences before quantisation).
        private static double TorchCubic(double x)
        {
            const double a = -0.5;
            x = Math.Abs(x);
            if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
            if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
            return 0;
        }
    }

    private static byte Clip(int sum, int precision)
    {
        int v = sum >> precision;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    // [H, inW, 3] -> [H, outW, 3]
    private static void Horizontal(byte[] input, int inWidth, byte[] output, int outWidth, int height, Taps taps)
    {
        int half = 1 << (taps.PrecisionBits - 1), p = taps.PrecisionBits, ks = taps.KernelSize;
        var weights = taps.Weights;
        Parallel.For(0, height, y =>
        {
            int rowIn = y * inWidth * 3, rowOut = y * outWidth * 3;
            for (int x = 0; x < outWidth; x++)
            {
                int s0 = half, s1 = half, s2 = half;
                int src = rowIn + taps.First[x] * 3, w0 = x * ks, n = taps.Count[x];
                for (int k = 0; k < n; k++, src += 3)
                {
                    int w = weights[w0 + k];
                    s0 += input[src] * w; s1 += input[src + 1] * w; s2 += input[src + 2] * w;
                }
                int o = rowOut + x * 3;
                output[o] = Clip(s0, p); output[o + 1] = Clip(s1, p); output[o + 2] = Clip(s2, p);
            }
        });
    }

    // [inH, W, 3] -> [outH, W, 3]
    private static void Vertical(byte[] input, byte[] output, int width, int outHeight, Taps taps)
    {
        int half = 1 << (taps.PrecisionBits - 1), p = taps.PrecisionBits, ks = taps.KernelSize, rowLen = width * 3;
        var weights = taps.Weights;
        Parallel.For(0, outHeight, y =>
        {
            int n = taps.Count[y], firstRow = taps.First[y], w0 = y * ks;
            int rowOut = y * rowLen;
            var sums = new int[rowLen];
            Array.Fill(sums, half);
            for (int k = 0; k < n; k++)
            {
                int w = weights[w0 + k], src = (firstRow + k) * rowLen;
                for (int i = 0; i < rowLen; i++) sums[i] += input[src + i] * w;
            }
            for (int i = 0; i < rowLen; i++) output[rowOut + i] = Clip(sums[i], p);
        });
    }
}
