using FineR1.Core.Imaging;

namespace FineR1.Core.Tests.Imaging;

internal static class ImagingFixtures
{
    public static string File(string name) => TestPaths.Fixture("imaging", name);

    public static RgbImage Load(string name) => ImageDecoder.Load(File(name));

    /// <summary>Largest absolute difference between two images of the same size (in 8-bit levels).</summary>
    public static int MaxDiff(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        int max = 0;
        for (int i = 0; i < a.Pixels.Length; i++) max = Math.Max(max, Math.Abs(a.Pixels[i] - b.Pixels[i]));
        return max;
    }
}
