using FineR1.Core.Imaging;
using FineR1.Core.Generation;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

public class GenerationInputsTests
{
    [Fact]
    public void LeftPad_pads_short_prompts_on_the_left_and_masks_the_padding()
    {
        using var inputs = GenerationInputs.LeftPad([new GenerationPrompt([5, 6, 7]), new GenerationPrompt([8])], padTokenId: 0);
        Assert.Equal([2L, 3], inputs.InputIds.shape);
        Assert.Equal([5L, 6, 7, 0, 0, 8], inputs.InputIds.data<long>().ToArray());
        Assert.Equal([1L, 1, 1, 0, 0, 1], inputs.AttentionMask.data<long>().ToArray());
        Assert.Null(inputs.PixelValues);
        Assert.Null(inputs.ImageGridThw);
    }

    [Fact]
    public void Images_of_all_rows_are_concatenated_in_row_order()
    {
        using var a = ones(4, 6);
        using var b = zeros(2, 6);
        using var inputs = GenerationInputs.LeftPad(
            [new GenerationPrompt([1], [new PromptImage(a, new VisionGrid(1, 2, 2))]), new GenerationPrompt([2], [new PromptImage(b, new VisionGrid(1, 1, 2))])], 0);
        Assert.Equal([6L, 6], inputs.PixelValues!.shape);
        Assert.Equal(24f, inputs.PixelValues.sum().item<float>());       // a: 4 × 6 ones, b: zeros
        Assert.Equal(1f, inputs.PixelValues[3, 0].item<float>());
        Assert.Equal(0f, inputs.PixelValues[4, 0].item<float>());
        Assert.Equal([1L, 2, 2, 1, 1, 2], inputs.ImageGridThw!.data<long>().ToArray());
    }

    [Fact]
    public void Bad_prompts_are_rejected_with_the_row_named()
    {
        Assert.Throws<ArgumentException>(() => GenerationInputs.LeftPad([], 0));
        Assert.Contains("prompt 1 is empty", Assert.Throws<ArgumentException>(() =>
            GenerationInputs.LeftPad([new GenerationPrompt([1]), new GenerationPrompt([])], 0)).Message);
        using var pixels = zeros(5, 6);
        Assert.Contains("t·h·w = 4", Assert.Throws<ArgumentException>(() =>
            GenerationInputs.LeftPad([new GenerationPrompt([1], [new PromptImage(pixels, new VisionGrid(1, 2, 2))])], 0)).Message);
        using var ids = zeros(new long[] { 1, 3 }, ScalarType.Int64);
        using var mask = ones(new long[] { 1, 2 }, ScalarType.Int64);
        Assert.Throws<ArgumentException>(() => new GenerationInputs(ids, mask));
    }
}
