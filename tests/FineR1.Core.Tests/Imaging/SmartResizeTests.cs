using FineR1.Core.Imaging;

namespace FineR1.Core.Tests.Imaging;

public class SmartResizeTests
{
    // Expected values from HF transformers 5.x smart_resize run in Python (round-half-to-even included: 42 -> 56, 70 -> 56).
    [Theory]
    [InlineData(97, 150, 3136, 50176, 84, 140)]
    [InlineData(84, 112, 3136, 50176, 84, 112)]
    [InlineData(10, 10, 3136, 12845056, 56, 56)]
    [InlineData(1, 200, 3136, 12845056, 28, 812)]
    [InlineData(42, 42, 3136, 12845056, 56, 56)]
    [InlineData(70, 70, 3136, 12845056, 56, 56)]
    [InlineData(375, 500, 3136, 12845056, 364, 504)]
    [InlineData(375, 500, 200704, 1003520, 392, 532)]
    [InlineData(3000, 4000, 3136, 12845056, 2996, 4004)]
    [InlineData(3000, 4000, 3136, 1003520, 840, 1148)]
    [InlineData(768, 1024, 3136, 12845056, 756, 1036)]
    [InlineData(448, 448, 3136, 12845056, 448, 448)]
    [InlineData(14, 2800, 3136, 12845056, 28, 812)]
    [InlineData(5000, 30, 3136, 50176, 2884, 28)]
    [InlineData(1080, 1920, 3136, 589824, 560, 1008)]
    [InlineData(333, 777, 1024, 589824, 336, 784)]
    public void Matches_HF_smart_resize(int h, int w, long min, long max, int expectedH, int expectedW)
    {
        Assert.Equal((expectedH, expectedW), SmartResize.Compute(h, w, 28, min, max));
    }

    [Theory]
    [InlineData(1, 201)]
    [InlineData(1000, 4)]
    public void Aspect_ratio_above_200_throws_naming_the_source(int h, int w)
    {
        var e = Assert.Throws<ImageProcessingException>(() => SmartResize.Compute(h, w, source: "wide.png"));
        Assert.Contains("wide.png", e.Message);
        Assert.Contains("aspect ratio", e.Message);
        Assert.Equal("wide.png", e.FilePath);
    }

    [Fact]
    public void Aspect_ratio_of_exactly_200_is_allowed() => Assert.Equal((28, 812), SmartResize.Compute(1, 200));
}
