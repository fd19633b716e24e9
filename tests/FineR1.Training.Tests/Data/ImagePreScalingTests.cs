using FineR1.Core.Processing;
using FineR1.Core.Imaging;
using FineR1.Training.Data;
using FineR1.Training.Sft;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tests.TapoTrainer;

namespace FineR1.Training.Tests.Data;

public sealed class ImagePreScalingTests
{
    private static RgbImage Gray(int width, int height) => new(width, height, Enumerable.Repeat((byte)128, width * height * 3).ToArray());

    [Fact]
    public void A_large_SFT_image_is_scaled_into_the_budget_before_the_processor_and_gets_the_references_grid()
    {
        var scaled = ImagePreScaling.Sft.Apply(Gray(1000, 800));
        // √(589,824 / 800,000) = 0.85865: int(858.65) × int(686.92)
        Assert.Equal((858, 686), (scaled.Width, scaled.Height));
        // The processor keeps the checkpoint's limits and rounds to multiples of 28: 868 × 672 (686 / 28 = 24.5 → 24, half to even).
        var grid = new Qwen2VLImageProcessor().PlanResize(scaled.Height, scaled.Width).Grid;
        Assert.Equal(new VisionGrid(1, 48, 62), grid);
        Assert.Equal(744, grid.TokenCount());
        // The budget inside smart_resize instead floors both sides: 840 × 672, 720 tokens (3 % fewer).
        var inProcessor = new Qwen2VLImageProcessor(new Qwen2VLImageProcessorOptions { MaxPixels = 768 * 768, MinPixels = 32 * 32 })
            .PlanResize(800, 1000).Grid;
        Assert.Equal(720, inProcessor.TokenCount());
    }

    [Fact]
    public void Small_images_are_scaled_up_and_LLaMA_Factorys_Qwen_side_rules_apply_in_SFT_only()
    {
        // 40 × 20 = 800 px < 1,024: factor √(1024 / 800) = 1.1314 → 45 × 22; SFT then raises the short side to 28.
        var sft = ImagePreScaling.Sft.Apply(Gray(40, 20));
        Assert.Equal((45, 28), (sft.Width, sft.Height));
        var noSideRules = new ImagePreScaling(1024, 768 * 768).Apply(Gray(40, 20));
        Assert.Equal((45, 22), (noSideRules.Width, noSideRules.Height));
        // Within the budget nothing changes (same instance).
        var inBudget = Gray(448, 448);
        Assert.Same(inBudget, ImagePreScaling.Tapo.Apply(inBudget));
    }

    [Fact]
    public void TAPO_encoder_pre_scales_to_the_RL_limits_by_default()
    {
        var encoder = new TapoPromptEncoder(TapoTestWorld.Tokenizer);
        Assert.Equal(ImagePreScaling.Tapo, encoder.Processor.PreScaling);
        Assert.Equal(new Qwen2VLImageProcessorOptions().MaxPixels, encoder.Processor.ImageProcessor.Options.MaxPixels);
        // 300 × 200 = 60,000 px < 200,704: √(200,704 / 60,000) = 1.8290 → 548 × 365 → the processor rounds to 560 × 364.
        var sample = FineR1.Training.Tapo.Data.TapoSample.Create("<image> What bird?", "Varen Tanager", Gray(300, 200), Gray(300, 200), Gray(300, 200), "s");
        using var prompt = encoder.Encode(sample, "p0");
        Assert.Equal(new VisionGrid(1, 26, 40), prompt.Grid);
        Assert.Null(new TapoPromptEncoder(new Qwen2_5_VLProcessor(TapoTestWorld.Tokenizer, TapoTestWorld.Processor)).Processor.PreScaling);   // an explicit processor decides alone
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SFT_applies_the_EXIF_orientation_only_when_configured(bool apply)
    {
        // exif6: stored 40 × 24, tagged "rotate 90° clockwise" — upright it is 24 × 40.
        var options = new SftOptions { Checkpointing = { OutputDir = "unused" }, ApplyExifOrientation = apply, PreScaleImages = false };
        var trainer = new SftTrainer(Sft.SftTestKit.NewModel(), Sft.SftTestKit.Tokenizer, options);
        var image = ImageInput.FromFile(TestPaths.Fixture("imaging", "exif6_40x24.jpg")).Decode(trainer.ImageProcessor.Options.ApplyExifOrientation);
        Assert.Equal(apply ? (24, 40) : (40, 24), (image.Width, image.Height));
        Assert.True(new SftOptions().ApplyExifOrientation);          // default on (documented in docs/image-preprocessing.md)
        Assert.True(new SftOptions().PreScaleImages);                // default: LLaMA-Factory's pre-scaling
    }
}
