using FineR1.Core.Native;
using System.Diagnostics;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Vision;

public class Qwen2_5_VisionTransformerTests
{
    // The first TorchSharp call may come before any FineR1.Core type is touched: install the native fix first.
    public Qwen2_5_VisionTransformerTests() => TorchSharpNativeLoader.EnsureInstalled();

    [Fact]
    public void Forward_in_a_dispose_scope_leaves_no_live_tensors_behind()
    {
        using var model = VisionFixture.Load();
        using var pixels = VisionFixture.Expected("image0_pixel_values");
        using var grid = VisionFixture.Grid([1, 6, 8]);
        using var noGrad = no_grad();

        void Step()
        {
            using var scope = NewDisposeScope();
            var output = model.forward(pixels, grid);
            Assert.Equal(12, output.shape[0]);
        }

        for (int i = 0; i < 3; i++) Step();   // warm-up: lazy allocations inside libtorch
        var stats = DisposeScopeManager.Statistics.TensorStatistics;
        long liveBefore = stats.ThreadTotalLiveCount;
        GC.Collect();
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;

        for (int i = 0; i < 40; i++) Step();

        long liveAfter = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        GC.Collect();
        long rssGrowth = Process.GetCurrentProcess().WorkingSet64 - rssBefore;
        TestContext.Current.TestOutputHelper?.WriteLine($"live tensors {liveBefore} -> {liveAfter}; RSS growth {rssGrowth / 1e6:F1} MB over 40 forwards");
        Assert.Equal(liveBefore, liveAfter);
        // Each leaked forward would keep ~1 MB of activations; allow allocator noise but not linear growth.
        Assert.True(rssGrowth < 64L << 20, $"RSS grew by {rssGrowth / 1e6:F1} MB over 40 forwards");
    }

    [Fact]
    public void Pixel_values_that_do_not_match_the_grid_are_rejected()
    {
        using var model = new Qwen2_5_VisionTransformerPretrainedModel(VisionFixture.Config());
        using var pixels = zeros(40, 1176);
        using var grid = VisionFixture.Grid([1, 6, 8]);
        var e = Assert.Throws<ArgumentException>(() => model.forward(pixels, grid));
        Assert.Contains("[48, 1176]", e.Message);
    }

    [Fact]
    public void Grids_the_merger_cannot_fold_are_rejected()
    {
        using var model = new Qwen2_5_VisionTransformerPretrainedModel(VisionFixture.Config());
        using var pixels = zeros(35, 1176);
        using var grid = VisionFixture.Grid([1, 5, 7]);
        var e = Assert.Throws<ArgumentException>(() => model.forward(pixels, grid));
        Assert.Contains("spatial_merge_size", e.Message);
        using var flat = tensor(new long[] { 1, 6, 8 });
        Assert.Throws<ArgumentException>(() => model.forward(pixels, flat));
    }

    [Fact]
    public void Unknown_activation_is_a_configuration_error()
    {
        var config = VisionFixture.Config() with { HiddenAct = "swiglu9000" };
        var e = Assert.Throws<ConfigurationException>(() => new Qwen2_5_VisionTransformerPretrainedModel(config));
        Assert.Contains("swiglu9000", e.Message);
    }

    [Fact]
    public void Moving_the_model_to_bfloat16_keeps_rotary_angles_in_float32()
    {
        using var scope = NewDisposeScope();
        using var model = VisionFixture.Load();
        model.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.Float32, model.rot_pos_emb(VisionFixture.Grid([1, 6, 8])).dtype);
        using var noGrad = no_grad();
        var output = model.forward(VisionFixture.Expected("image0_pixel_values"), VisionFixture.Grid([1, 6, 8]));
        Assert.Equal(ScalarType.BFloat16, output.dtype);
        double err = VisionFixture.RelativeError(output, VisionFixture.Expected("vision_embeds"));
        TestContext.Current.TestOutputHelper?.WriteLine($"bfloat16 CPU relative error: {err:E3}");
        Assert.True(err < 5e-2, $"bfloat16 error {err:E3}");
    }
}
