using FineR1.Core.Configuration;

namespace FineR1.Core.Tests.Configuration;

public class Qwen2_5_VLConfigTests
{
    [Fact]
    public void Reads_the_transformers_5_layout_of_the_fixture()
    {
        var c = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a"));
        Assert.Equal(512, c.Text.VocabSize);
        Assert.Equal(64, c.Text.HiddenSize);
        Assert.Equal(2, c.Text.NumKeyValueHeads);
        Assert.Equal([2, 3, 3], c.Text.MropeSection);
        Assert.True(c.Text.TieWordEmbeddings);
        Assert.Equal(4, c.Vision.Depth);
        Assert.Equal([1, 3], c.Vision.FullAttentionBlockIndexes);
        Assert.Equal(56, c.Vision.WindowSize);
        Assert.Equal(500, c.ImageTokenId);
        Assert.Equal(498, c.VisionStartTokenId);
    }

    [Fact]
    public void Reads_the_transformers_4_layout()
    {
        const string json = """
        {"architectures":["Qwen2_5_VLForConditionalGeneration"],"model_type":"qwen2_5_vl",
         "vocab_size":151936,"hidden_size":2048,"intermediate_size":11008,"num_hidden_layers":36,
         "num_attention_heads":16,"num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,
         "max_position_embeddings":128000,"tie_word_embeddings":true,"hidden_act":"silu",
         "rope_scaling":{"type":"mrope","mrope_section":[16,24,24]},
         "image_token_id":151655,"video_token_id":151656,"vision_start_token_id":151652,"vision_end_token_id":151653,
         "vision_config":{"depth":32,"hidden_act":"silu","hidden_size":1280,"intermediate_size":3420,"num_heads":16,
           "in_chans":3,"out_hidden_size":2048,"patch_size":14,"spatial_merge_size":2,"spatial_patch_size":14,
           "window_size":112,"fullatt_block_indexes":[7,15,23,31],"tokens_per_second":2,"temporal_patch_size":2}}
        """;
        var c = Qwen2_5_VLConfig.Parse(json);
        var preset = Qwen2_5_VLConfig.Qwen2_5_VL3B.Text;
        Assert.Equal((preset.VocabSize, preset.HiddenSize, preset.IntermediateSize, preset.NumHiddenLayers, preset.NumAttentionHeads, preset.NumKeyValueHeads, preset.TieWordEmbeddings),
            (c.Text.VocabSize, c.Text.HiddenSize, c.Text.IntermediateSize, c.Text.NumHiddenLayers, c.Text.NumAttentionHeads, c.Text.NumKeyValueHeads, c.Text.TieWordEmbeddings));
        Assert.Equal([16, 24, 24], c.Text.MropeSection);
        Assert.Equal([7, 15, 23, 31], c.Vision.FullAttentionBlockIndexes);
    }

    [Fact]
    public void Round_trips_through_its_own_json()
    {
        var c = Qwen2_5_VLConfig.Qwen2_5_VL7B;
        var back = Qwen2_5_VLConfig.Parse(c.ToJson());
        Assert.Equal(c.Text.HiddenSize, back.Text.HiddenSize);
        Assert.Equal(c.Text.MropeSection, back.Text.MropeSection);
        Assert.False(back.Text.TieWordEmbeddings);
        Assert.Equal(c.Vision.FullAttentionBlockIndexes, back.Vision.FullAttentionBlockIndexes);
    }

    [Theory]
    [InlineData("not json", "invalid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{}", "vision_config")]
    [InlineData("""{"vision_config":{"depth":1}}""", "vocab_size")]
    public void Invalid_or_incomplete_config_names_the_file_and_the_problem(string json, string expected)
    {
        using var tmp = TestPaths.NewTempDir();
        var file = tmp.File("config.json");
        File.WriteAllText(file, json);
        var e = Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Load(file));
        Assert.Contains(file, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(file, e.FilePath);
    }

    [Fact]
    public void Inconsistent_values_are_rejected()
    {
        var bad = Qwen2_5_VLConfig.Qwen2_5_VL3B with
        {
            Text = Qwen2_5_VLConfig.Qwen2_5_VL3B.Text with { MropeSection = [16, 24, 20] },
        };
        var e = Assert.Throws<ConfigurationException>(() => bad.Validate("x"));
        Assert.Contains("mrope_section", e.Message);
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        var e = Assert.Throws<ConfigurationException>(() => Qwen2_5_VLConfig.Load("/nonexistent/model"));
        Assert.Contains("config.json", e.Message);
    }
}
