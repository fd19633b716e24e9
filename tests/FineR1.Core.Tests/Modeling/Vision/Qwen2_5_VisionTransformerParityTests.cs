using FineR1.Core.Native;
using FineR1.Core.Modeling.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Vision;

public class Qwen2_5_VisionTransformerParityTests
{
    // The first TorchSharp call may come before any FineR1.Core type is touched: install the native fix first.
    public Qwen2_5_VisionTransformerParityTests() => TorchSharpNativeLoader.EnsureInstalled();

    private static readonly long[] Image0Grid = [1, 6, 8];
    private static readonly long[] Image1Grid = [1, 6, 10];

    [Fact]
    [Trait("Category", "Parity")]
    public void Image0_matches_HF_vision_embeds_in_float32()
    {
        using var scope = NewDisposeScope();
        using var model = VisionFixture.Load();
        var pixels = VisionFixture.Expected("image0_pixel_values");                  // [48, 1176]
        var expected = VisionFixture.Expected("vision_embeds");                       // [12, 64]

        using var noGrad = no_grad();
        var actual = model.forward(pixels, VisionFixture.Grid(Image0Grid));

        Assert.Equal(expected.shape, actual.shape);
        double err = VisionFixture.RelativeError(actual, expected);
        TestContext.Current.TestOutputHelper?.WriteLine($"vision_embeds relative error (float32, CPU): {err:E3}");
        Assert.True(err <= 1e-4, $"‖Δ‖/‖ref‖ = {err:E3} > 1e-4");
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void Two_images_in_one_call_each_give_what_they_give_alone()
    {
        using var scope = NewDisposeScope();
        using var model = VisionFixture.Load();
        var pixels0 = VisionFixture.Expected("image0_pixel_values");                 // [48, 1176]
        var pixels1 = VisionFixture.Expected("image1_pixel_values");                 // [60, 1176]
        using var noGrad = no_grad();

        var alone0 = model.forward(pixels0, VisionFixture.Grid(Image0Grid));         // [12, 64]
        var alone1 = model.forward(pixels1, VisionFixture.Grid(Image1Grid));         // [15, 64]
        var both = model.forward(cat([pixels0, pixels1], 0), VisionFixture.Grid(Image0Grid, Image1Grid));   // [27, 64]
        var reversed = model.forward(cat([pixels1, pixels0], 0), VisionFixture.Grid(Image1Grid, Image0Grid));

        Assert.Equal([27L, 64L], both.shape);
        double e0 = VisionFixture.RelativeError(both.narrow(0, 0, 12), alone0);
        double e1 = VisionFixture.RelativeError(both.narrow(0, 12, 15), alone1);
        double r1 = VisionFixture.RelativeError(reversed.narrow(0, 0, 15), alone1);
        double r0 = VisionFixture.RelativeError(reversed.narrow(0, 15, 12), alone0);
        TestContext.Current.TestOutputHelper?.WriteLine($"batched vs alone: {e0:E3} {e1:E3} {r1:E3} {r0:E3}");
        // Batching only changes how many equal-length windows share one SDPA call: float32 rounding at most.
        Assert.All(new[] { e0, e1, r1, r0 }, e => Assert.True(e <= 1e-6, $"batched differs from alone by {e:E3}"));
        // image0, image1, image0: equal-length frames and windows are no longer adjacent, so attention gathers rows
        // into groups and scatters them back.
        var three = model.forward(cat([pixels0, pixels1, pixels0], 0), VisionFixture.Grid(Image0Grid, Image1Grid, Image0Grid));
        double t0 = VisionFixture.RelativeError(three.narrow(0, 0, 12), alone0);
        double t1 = VisionFixture.RelativeError(three.narrow(0, 12, 15), alone1);
        double t2 = VisionFixture.RelativeError(three.narrow(0, 27, 12), alone0);
        TestContext.Current.TestOutputHelper?.WriteLine($"three images vs alone: {t0:E3} {t1:E3} {t2:E3}");
        Assert.All(new[] { t0, t1, t2 }, e => Assert.True(e <= 1e-6, $"batched differs from alone by {e:E3}"));
        // And the first image of the batch still matches HF.
        Assert.True(VisionFixture.RelativeError(both.narrow(0, 0, 12), VisionFixture.Expected("vision_embeds")) <= 1e-4);
        // Isolation is not vacuous: the two images give different embeddings.
        Assert.True(VisionFixture.RelativeError(alone1.narrow(0, 0, 12), alone0) > 1e-2);
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void State_dict_names_and_shapes_match_the_checkpoint()
    {
        using var model = new Qwen2_5_VisionTransformerPretrainedModel(VisionFixture.Config());
        using var file = FineR1.Core.Checkpoints.SafetensorsFile.Open(Path.Combine(VisionFixture.Folder, "model.safetensors"));
        var expected = VisionFixture.VisualEntries(file)
            .ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.Shape));
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.shape));
        Assert.Equal(expected.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
        Assert.DoesNotContain(actual.Keys, k => k.Contains("inv_freq"));
    }

    [Fact]
    public void State_dict_matches_the_real_3B_listing_when_built_on_the_meta_device()
    {
        var config = FineR1.Core.Configuration.Qwen2_5_VLConfig.Qwen2_5_VL3B.Vision;
        using var model = new Qwen2_5_VisionTransformerPretrainedModel(config, new Device(DeviceType.META));
        var listing = File.ReadAllLines(TestPaths.Fixture("qwen2_5_vl", "state-dict-qwen2_5_vl-3b.txt"))
            .Select(l => l.Split('\t'))
            .Where(p => p[0].StartsWith("model.visual.", StringComparison.Ordinal))
            .ToDictionary(p => p[0]["model.visual.".Length..], p => p[1].Replace(" ", ""));
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => "[" + string.Join(",", kv.Value.shape) + "]");
        Assert.Equal(390, listing.Count);
        Assert.Equal(listing.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
    }

    [Fact]
    [Trait("Category", "Gpu")]
    public void BFloat16_on_CUDA_stays_close_to_HF()
    {
        Gpu.RequireCuda();
        using var scope = NewDisposeScope();
        using var model = VisionFixture.Load(CUDA, ScalarType.BFloat16);
        var pixels = VisionFixture.Expected("image0_pixel_values").to(CUDA);
        var expected = VisionFixture.Expected("vision_embeds");
        using var noGrad = no_grad();
        var actual = model.forward(pixels, VisionFixture.Grid(Image0Grid).to(CUDA));
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        double err = VisionFixture.RelativeError(actual, expected);
        TestContext.Current.TestOutputHelper?.WriteLine($"vision_embeds relative error (bfloat16, CUDA): {err:E3}");
        Assert.True(err <= 3e-2, $"‖Δ‖/‖ref‖ = {err:E3} > 3e-2");
    }
}
