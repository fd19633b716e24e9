using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Model;

/// <summary>The real 3B/7B models, built on the meta device (no memory), list exactly HF's state-dict names and shapes.</summary>
[Trait("Category", "Parity")]
public sealed class StateDictShapeTests
{
    [Theory]
    [InlineData("3b")]
    [InlineData("7b")]
    public void MetaModel_ListsHFNamesAndShapes(string size)
    {
        var config = size == "3b" ? Qwen2_5_VLConfig.Qwen2_5_VL3B : Qwen2_5_VLConfig.Qwen2_5_VL7B;
        var expected = File.ReadAllLines(TestPaths.Fixture("qwen2_5_vl", $"state-dict-qwen2_5_vl-{size}.txt"))
            .Where(l => l.Length > 0).ToList();

        using var model = new Qwen2_5_VLForConditionalGeneration(config, new Device(DeviceType.META), ScalarType.BFloat16);
        var actual = model.state_dict()
            .Select(kv => $"{kv.Key}\t[{string.Join(", ", kv.Value.shape)}]").ToList();

        Assert.Equal(expected, actual);
        Assert.All(model.state_dict().Values, t => Assert.Equal(DeviceType.META, t.device_type));
    }
}
