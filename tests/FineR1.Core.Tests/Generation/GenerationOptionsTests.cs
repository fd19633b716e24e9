using FineR1.Core.Generation;

namespace FineR1.Core.Tests.Generation;

public class GenerationOptionsTests
{
    [Fact]
    public void Defaults_are_greedy_with_qwen_stop_and_pad_tokens()
    {
        var o = new GenerationOptions();
        Assert.False(o.DoSample);
        Assert.Equal([151645L, 151643L], o.StopTokenIds);
        Assert.Equal(151643, o.PadTokenId);
        Assert.Empty(o.BannedTokenIds);
        Assert.Equal((1.0, 0, 1.0, 1.0), (o.Temperature, o.TopK, o.TopP, o.RepetitionPenalty));
    }

    public static TheoryData<string, Func<GenerationOptions>> BadOptions => new()
    {
        { "MaxNewTokens", () => new GenerationOptions { MaxNewTokens = 0 } },
        { "Temperature", () => new GenerationOptions { Temperature = 0 } },
        { "Temperature", () => new GenerationOptions { Temperature = double.NaN } },
        { "Temperature", () => new GenerationOptions { Temperature = -1 } },
        { "TopK", () => new GenerationOptions { TopK = -1 } },
        { "TopP", () => new GenerationOptions { TopP = 1.5 } },
        { "TopP", () => new GenerationOptions { TopP = -0.1 } },
        { "RepetitionPenalty", () => new GenerationOptions { RepetitionPenalty = 0 } },
        { "StopTokenIds", () => new GenerationOptions { StopTokenIds = [5, -2] } },
        { "BannedTokenIds", () => new GenerationOptions { BannedTokenIds = [-1] } },
        { "BannedTokenIds", () => new GenerationOptions { BannedTokenIds = null! } },
        { "PadTokenId", () => new GenerationOptions { PadTokenId = -3 } },
    };

    [Theory, MemberData(nameof(BadOptions))]
    public void Bad_values_throw_naming_the_property(string property, Func<GenerationOptions> make)
    {
        var e = Assert.ThrowsAny<ArgumentException>(make);
        Assert.Equal(property, e.ParamName);
    }

    [Fact]
    public void Ids_outside_the_vocabulary_are_rejected_for_that_model()
    {
        var banned = new GenerationOptions { BannedTokenIds = [GenerationOptions.QwenImagePadTokenId], PadTokenId = 0 };
        var e = Assert.Throws<ArgumentException>(() => banned.ValidateFor(512));
        Assert.Contains("151655", e.Message);
        Assert.Equal("BannedTokenIds", e.ParamName);
        banned.ValidateFor(151936);

        var pad = new GenerationOptions();                     // pad 151643 does not exist in a 512-token vocabulary
        Assert.Equal("PadTokenId", Assert.Throws<ArgumentException>(() => pad.ValidateFor(512)).ParamName);
    }

    [Fact]
    public void Lists_are_copied_so_later_changes_do_not_leak_in()
    {
        var stops = new List<long> { 7 };
        var o = new GenerationOptions { StopTokenIds = stops };
        stops.Add(8);
        Assert.Equal([7L], o.StopTokenIds);
    }
}
