using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Native;
using FineR1.Inference.Siglip;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Siglip;

public class SiglipLoadingTests : IDisposable
{
    private readonly TempDir _dir = TestPaths.NewTempDir();
    private static string TinyA => TestPaths.Fixture("siglip_text", "tiny-a");

    public SiglipLoadingTests() => TorchSharpNativeLoader.EnsureInstalled();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_the_text_config_of_a_full_SiglipConfig_with_HF_defaults()
    {
        var c = SiglipTextConfig.Parse("""{"model_type":"siglip","text_config":{"model_type":"siglip_text_model","hidden_size":768,"projection_size":null},"vision_config":{"hidden_size":1}}""");
        Assert.Equal((32000, 768, 3072, 12, 12, 64, 768), (c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.MaxPositionEmbeddings, c.ProjectionSize));
        Assert.Equal("gelu_pytorch_tanh", c.HiddenAct);
        var tiny = SiglipTextConfig.Load(TinyA);
        Assert.Equal((300, 64, 48, 4, 16), (tiny.VocabSize, tiny.HiddenSize, tiny.ProjectionSize, tiny.NumAttentionHeads, tiny.HeadDim));
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("""{"hidden_size":10,"num_attention_heads":4}""", "multiple of num_attention_heads")]
    [InlineData("""{"hidden_act":"swish"}""", "hidden_act 'swish'")]
    [InlineData("""{"vocab_size":"many"}""", "'vocab_size' must be an integer")]
    public void Bad_configs_are_typed_errors_naming_the_file(string json, string expected)
    {
        string path = _dir.File("config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<ConfigurationException>(() => SiglipTextConfig.Load(_dir.Path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Loads_a_full_SiglipModel_checkpoint_with_the_text_model_prefix()
    {
        File.Copy(Path.Combine(TinyA, "config.json"), _dir.File("config.json"));
        RewriteKeys(Path.Combine(TinyA, "model.safetensors"), _dir.File("model.safetensors"), k => "text_model." + k);
        using var scope = NewDisposeScope();
        using var a = SiglipTextModel.Load(TinyA);
        using var b = SiglipTextModel.Load(_dir.Path);
        using var expected = SafetensorsFile.Open(Path.Combine(TinyA, "expected.safetensors"));
        var ids = expected.Read("input_ids");
        using var _ = no_grad();
        Assert.Equal(0.0, (a.forward(ids, null).PoolerOutput - b.forward(ids, null).PoolerOutput).abs().max().ToDouble());
    }

    [Fact]
    public void A_missing_tensor_is_a_checkpoint_error_naming_it()
    {
        File.Copy(Path.Combine(TinyA, "config.json"), _dir.File("config.json"));
        RewriteKeys(Path.Combine(TinyA, "model.safetensors"), _dir.File("model.safetensors"), k => k == "head.bias" ? "head.bias_renamed" : k);
        var e = Assert.Throws<CheckpointException>(() => SiglipTextModel.Load(_dir.Path));
        Assert.Contains("'head.bias'", e.Message);
    }

    [Fact]
    public void A_shape_that_disagrees_with_the_config_is_a_checkpoint_error()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyA, "config.json")))!;
        config["projection_size"] = 32;
        File.WriteAllText(_dir.File("config.json"), config.ToJsonString());
        File.Copy(Path.Combine(TinyA, "model.safetensors"), _dir.File("model.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => SiglipTextModel.Load(_dir.Path));
        Assert.Contains("'head.weight' has shape [48, 64]", e.Message);
    }

    [Fact]
    public void Embedder_returns_unit_vectors_of_the_pooled_output_in_batches()
    {
        using var model = SiglipTextModel.Load(TinyA);
        var tokenizer = SiglipTokenizer.Create(new MemoryStream(TinySentencePieceModel.Build()), 64);
        string[] texts = ["Black Footed Albatross", "a", "", "BLACK  footed, albatross!"];
        using var embedder = new SiglipTextEmbedder(model, tokenizer) { BatchSize = 3, UseAttentionMask = false };
        var vectors = embedder.Embed(texts);

        Assert.Equal(4, vectors.Count);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(48, vectors[i].Length);
            Assert.Equal(1.0, Math.Sqrt(vectors[i].Sum(x => (double)x * x)), 5);
            var pooled = model.forward(tensor(tokenizer.Encode(texts[i]), [1, 64]), null).PoolerOutput[0];
            var unit = (pooled / pooled.norm()).data<float>().ToArray();
            for (int j = 0; j < unit.Length; j++) Assert.Equal(unit[j], vectors[i][j], 5);
        }
        // Same text after canonicalisation → same vector (up to batch-dependent float rounding).
        for (int j = 0; j < 48; j++) Assert.Equal(vectors[0][j], vectors[3][j], 5);

        using var masked = new SiglipTextEmbedder(SiglipTextModel.Load(TinyA), tokenizer) { UseAttentionMask = true };
        Assert.NotEqual(vectors[0], masked.Embed([texts[0]])[0]);
    }

    [Fact]
    public void Embedder_passes_the_tokenizers_attention_mask_by_default_as_the_reference_evaluation()
    {
        var tokenizer = SiglipTokenizer.Create(new MemoryStream(TinySentencePieceModel.Build()), 64);
        using var byDefault = new SiglipTextEmbedder(SiglipTextModel.Load(TinyA), tokenizer);
        Assert.True(byDefault.UseAttentionMask);
        const string text = "Black Footed Albatross";
        var vector = byDefault.Embed([text])[0];
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var model = SiglipTextModel.Load(TinyA);
        var pooled = model.forward(tensor(tokenizer.Encode(text), [1, 64]), tensor(tokenizer.AttentionMask(text), [1, 64])).PoolerOutput[0];
        var unit = (pooled / pooled.norm()).data<float>().ToArray();
        for (int j = 0; j < unit.Length; j++) Assert.Equal(unit[j], vector[j], 5);
    }

    /// <summary>Copies a safetensors file with renamed keys (same data section).</summary>
    private static void RewriteKeys(string source, string destination, Func<string, string> rename)
    {
        var bytes = File.ReadAllBytes(source);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        var renamed = new JsonObject();
        foreach (var (key, value) in header.ToList())
            renamed[key == "__metadata__" ? key : rename(key)] = value!.DeepClone();
        var newHeader = Encoding.UTF8.GetBytes(renamed.ToJsonString());
        using var output = File.Create(destination);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)newHeader.Length);
        output.Write(len);
        output.Write(newHeader);
        output.Write(bytes, 8 + headerLength, bytes.Length - 8 - headerLength);
    }
}
