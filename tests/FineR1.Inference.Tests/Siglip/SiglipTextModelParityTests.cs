using FineR1.Core.Checkpoints;
using FineR1.Core.Native;
using FineR1.Inference.Siglip;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Siglip;

/// <summary>HF transformers reference outputs of a tiny SiglipTextModel (tests/Fixtures/siglip_text).</summary>
public class SiglipTextModelParityTests(ITestOutputHelper output)
{
    private const double RelativeTolerance = 1e-4;

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string> { TestPaths.Fixture("siglip_text", "tiny-a") };
        foreach (var extra in TestPaths.FromEnvironment("FINER1_SIGLIP_FIXTURES")) data.Add(extra);
        return data;
    }

    [Theory]
    [Trait("Category", "Parity")]
    [MemberData(nameof(Fixtures))]
    public void Matches_transformers_last_hidden_state_and_pooler_output(string folder)
    {
        TorchSharpNativeLoader.EnsureInstalled();
        using var scope = NewDisposeScope();
        using var model = SiglipTextModel.Load(folder);
        using var expected = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        var ids = expected.Read("input_ids");
        using var _ = no_grad();
        using var result = model.forward(ids, null);

        output.WriteLine(AssertClose(expected.Read("last_hidden_state"), result.LastHiddenState, "last_hidden_state"));
        output.WriteLine(AssertClose(expected.Read("pooler_output"), result.PoolerOutput, "pooler_output"));
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void Parameter_names_are_exactly_the_checkpoint_names()
    {
        TorchSharpNativeLoader.EnsureInstalled();
        string folder = TestPaths.Fixture("siglip_text", "tiny-a");
        using var model = new SiglipTextModel(SiglipTextConfig.Load(folder));
        using var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(file.Entries.Keys.Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Every element within 1e-4 of the reference, relative to the reference tensor's largest magnitude
    /// (element-wise relative error is meaningless for values near zero).
    /// </summary>
    internal static string AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = expected.abs().max().ToDouble();
        double maxDiff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().ToDouble();
        Assert.True(maxDiff <= RelativeTolerance * scale,
            $"{what}: max |diff| {maxDiff:E3} > {RelativeTolerance:E0} × max |ref| {scale:E3}");
        return $"{what}: max |diff| {maxDiff:E3}, max |ref| {scale:E3}";
    }
}
