using System.Text.Json.Nodes;
using FineR1.Core.Configuration;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Configuration;

/// <summary>Hostile or broken config.json values are refused with a message naming config.json and the field.</summary>
public class ConfigValidationTests
{
    private static string Tiny => File.ReadAllText(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));

    private static string With(string path, JsonNode? value)
    {
        var root = JsonNode.Parse(Tiny)!.AsObject();
        var parts = path.Split('.');
        JsonObject target = root;
        foreach (var p in parts[..^1]) target = target[p]!.AsObject();
        target[parts[^1]] = value;
        return root.ToJsonString();
    }

    [Theory]
    [InlineData("text_config.num_hidden_layers", 1_000_000, "num_hidden_layers")]
    [InlineData("text_config.hidden_size", 1_000_000_000, "hidden_size")]
    [InlineData("text_config.vocab_size", 2147483647, "vocab_size")]
    [InlineData("text_config.rms_norm_eps", -1e-6, "rms_norm_eps")]
    [InlineData("text_config.rope_parameters.rope_theta", 0, "rope_theta")]
    [InlineData("image_token_id", 512, "image_token_id")]
    [InlineData("vision_config.depth", 0, "vision_config.depth")]
    [InlineData("vision_config.patch_size", -14, "vision_config.patch_size")]
    public void An_out_of_range_value_names_config_json_and_the_field(string path, double value, string field)
    {
        var e = Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Parse(With(path, value), "/m/config.json"));
        Assert.Equal("/m/config.json", e.FilePath);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Theory]
    [InlineData("text_config.bos_token_id", "\"abc\"", "bos_token_id")]
    [InlineData("text_config.eos_token_id", "[\"x\"]", "eos_token_id[0]")]
    [InlineData("text_config.hidden_size", "1.5", "hidden_size")]
    [InlineData("text_config.hidden_size", "1e30", "hidden_size")]
    [InlineData("tie_word_embeddings", "\"yes\"", "tie_word_embeddings")]
    public void A_mistyped_value_names_the_field(string path, string json, string field)
    {
        var e = Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Parse(With(path, JsonNode.Parse(json)), "config.json"));
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void A_key_written_twice_and_non_files_are_ConfigurationExceptions()
    {
        Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Parse(Tiny.Replace("\"image_token_id\":", "\"image_token_id\": 1, \"image_token_id\":"), "config.json"));
        Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Load("/dev/zero"));
        Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Load("/no/such/config.json"));
    }

    [Fact]
    public void The_parameter_estimate_matches_the_released_models()
    {
        Assert.Equal(3_754_622_976, ModelMemory.ParameterCount(Qwen2_5_VLConfig.Qwen2_5_VL3B));
        Assert.Equal(8_292_166_656, ModelMemory.ParameterCount(Qwen2_5_VLConfig.Qwen2_5_VL7B));
    }

    [Fact]
    public void A_model_larger_than_the_memory_is_refused_before_allocation()
    {
        var huge = Qwen2_5_VLConfig.Qwen2_5_VL7B with
        {
            Text = Qwen2_5_VLConfig.Qwen2_5_VL7B.Text with { NumHiddenLayers = 1024, IntermediateSize = 1 << 18 },
        };
        var e = Assert.Throws<ConfigurationException>(() => ModelMemory.EnsureFits(huge, CPU, ScalarType.Float32, "config.json"));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("available", e.Message);
        ModelMemory.EnsureFits(Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a")), CPU, ScalarType.Float32);
    }
}
