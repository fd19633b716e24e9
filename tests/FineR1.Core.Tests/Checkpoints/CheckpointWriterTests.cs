using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using TorchSharp;
using static FineR1.Core.Tests.Checkpoints.CheckpointTestFiles;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Checkpoints;

public sealed class CheckpointWriterTests
{
    [Fact]
    public void Header_IsByteForByteTheSafetensorsLayout()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("x.safetensors");
        var w = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        var b = torch.tensor(new float[] { 1, 2, 3, 4 }).to(ScalarType.BFloat16);
        var i = torch.tensor(new long[] { 7, -1 });

        SafetensorsWriter.Write(path, [new("w", w), new("b", b), new("i", i)]);

        // Hand parse: u64 little-endian header length, JSON header padded with spaces to 8 bytes, raw data.
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        const string expectedJson = "{\"__metadata__\":{\"format\":\"pt\"}," +
            "\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}," +     // 8-byte dtypes first,
            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}," +  // then 4-byte,
            "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[40,48]}}";    // then 2-byte
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(expectedJson, header.TrimEnd(' '));
        Assert.Equal(expectedJson.Length + (8 - expectedJson.Length % 8) % 8, headerLength);
        Assert.Equal(8 + headerLength + 48, bytes.Length);
        var data = bytes.AsSpan(8 + headerLength);
        Assert.Equal(7L, BinaryPrimitives.ReadInt64LittleEndian(data));
        Assert.Equal(-1L, BinaryPrimitives.ReadInt64LittleEndian(data[8..]));
        Assert.Equal(5f, BinaryPrimitives.ReadSingleLittleEndian(data[(16 + 20)..]));
        Assert.Equal((ushort)0x3F80, BinaryPrimitives.ReadUInt16LittleEndian(data[40..]));   // bf16(1.0)
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void ResavingTheFixture_ReproducesTransformersFileExactly()
    {
        // tiny-a/model.safetensors was written by transformers 5.17 save_pretrained from a tied model. Load it into a
        // 5.x-named module with a tied lm_head, save with the defaults: the bytes must be identical.
        using var dir = TestPaths.NewTempDir();
        using var module = NamedTensorModule.FromHeader(TinyA, CheckpointKeys.ToTransformers5);
        var embed = State(module)["model.language_model.embed_tokens.weight"];
        module.Add("lm_head.weight", embed.shape, parameter: (TorchSharp.Modules.Parameter)embed);
        CheckpointLoader.Load(module, TinyA);

        var report = CheckpointWriter.Save(module, dir.Path);

        Assert.Equal(["lm_head.weight"], report.DroppedTied);
        Assert.Equal(File.ReadAllBytes(TinyA), File.ReadAllBytes(dir.File("model.safetensors")));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void SaveThenLoad_IsBitIdentical(ScalarType dtype)
    {
        using var dir = TestPaths.NewTempDir();
        using var source = new TinyVl(tied: false, dtype).Randomize(11);
        CheckpointWriter.Save(source, dir.Path);
        using (var file = SafetensorsFile.Open(dir.File("model.safetensors")))
            Assert.All(file.Entries.Values, e => Assert.Equal(SafetensorsFile.FromScalarType(dtype), e.DType));
        using var target = new TinyVl(tied: false, dtype);

        var report = CheckpointLoader.Load(target, dir.Path);

        Assert.True(report.IsExact);
        foreach (var (name, tensor) in State(source)) Assert.True(BitEqual(tensor, State(target)[name]), name);
    }

    [Fact]
    public void Sharding_FollowsHuggingFaceSplit_AndWritesTheIndex()
    {
        using var dir = TestPaths.NewTempDir();
        // 40-byte a, b, c, a 120-byte d and an 8-byte e, limit 100. huggingface_hub's split_state_dict_into_shards:
        // c does not fit beside [a, b] -> new shard [c]; d is over the limit -> a shard of its own, appended at once;
        // e joins the open shard -> [a, b], [d], [c, e].
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("a", torch.ones(10)), new("b", torch.ones(10)), new("c", torch.ones(10)), new("d", torch.ones(30)), new("e", torch.ones(2)),
        };

        var report = CheckpointWriter.Save(tensors, dir.Path, new CheckpointSaveOptions { MaxShardSize = 100 });

        string Shard(int k) => $"model-0000{k}-of-00003.safetensors";
        Assert.Equal(new Dictionary<string, string> { ["a"] = Shard(1), ["b"] = Shard(1), ["c"] = Shard(3), ["d"] = Shard(2), ["e"] = Shard(3) },
            report.WeightMap);
        Assert.Equal(40 * 3 + 120 + 8, report.TotalSize);
        var expectedIndex = "{\n  \"metadata\": {\n    \"total_size\": 248\n  },\n  \"weight_map\": {\n" +
            $"    \"a\": \"{Shard(1)}\",\n    \"b\": \"{Shard(1)}\",\n    \"c\": \"{Shard(3)}\",\n    \"d\": \"{Shard(2)}\",\n    \"e\": \"{Shard(3)}\"\n  }}\n}}\n";
        Assert.Equal(expectedIndex, File.ReadAllText(dir.File("model.safetensors.index.json")));
        Assert.False(File.Exists(dir.File("model.safetensors")));
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(5, checkpoint.Tensors.Count);
    }

    [Fact]
    public void Resave_RemovesStaleWeightFiles()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = new TinyVl(tied: false).Randomize(12);
        CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { MaxShardSize = 600 });
        File.WriteAllText(dir.File("README.md"), "keep me");

        CheckpointWriter.Save(model, dir.Path);

        Assert.Equal(["README.md", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FailedWrite_LeavesNoPartialFile_AndKeepsThePreviousOne()
    {
        using var dir = TestPaths.NewTempDir();
        var path = dir.File("model.safetensors");
        SafetensorsWriter.Write(path, [new("w", torch.ones(4))]);
        var before = File.ReadAllBytes(path);
        var broken = torch.ones(8);
        var tensors = new List<KeyValuePair<string, Tensor>> { new("a", torch.zeros(1 << 16)), new("z", broken) };
        var layoutOnly = broken.shape;                 // the header is built first; the data write then fails
        broken.Dispose();

        Assert.ThrowsAny<Exception>(() => SafetensorsWriter.Write(path, tensors));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal([8L], layoutOnly);
    }

    [Fact]
    public void Config_IsWrittenWithTheStoredDType_AndParsesBack()
    {
        using var dir = TestPaths.NewTempDir();
        var config = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));
        using var model = new TinyVl(tied: true).Randomize(13);

        CheckpointWriter.Save(model, dir.Path, new CheckpointSaveOptions { Config = config, DType = ScalarType.BFloat16 });

        var json = File.ReadAllText(dir.File("config.json"));
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("bfloat16", doc.RootElement.GetProperty("dtype").GetString());
        Assert.Equal("bfloat16", doc.RootElement.GetProperty("torch_dtype").GetString());
        Assert.Equal(config.ToJson(), Qwen2_5_VLConfig.Parse(json).ToJson());
    }

    [Fact]
    public void KeyStyles_MapBothWays()
    {
        Assert.Equal("model.visual.blocks.0.attn.qkv.weight", CheckpointKeys.ToTransformers5("visual.blocks.0.attn.qkv.weight"));
        Assert.Equal("model.language_model.layers.3.mlp.up_proj.weight", CheckpointKeys.ToTransformers5("model.layers.3.mlp.up_proj.weight"));
        Assert.Equal("model.language_model.norm.weight", CheckpointKeys.ToTransformers5("model.language_model.norm.weight"));
        Assert.Equal("model.visual.merger.ln_q.weight", CheckpointKeys.ToTransformers5("model.visual.merger.ln_q.weight"));
        Assert.Equal("lm_head.weight", CheckpointKeys.ToTransformers5("lm_head.weight"));
        Assert.Equal("visual.merger.ln_q.weight", CheckpointKeys.ToTransformers4("model.visual.merger.ln_q.weight"));
        Assert.Equal("model.embed_tokens.weight", CheckpointKeys.ToTransformers4("model.language_model.embed_tokens.weight"));
        Assert.Equal("lm_head.weight", CheckpointKeys.ToTransformers4("lm_head.weight"));
    }

    [Fact]
    [Trait("Category", "Parity")]
    public void RealModelListings_RoundTripThroughBothSpellings()
    {
        foreach (var listing in new[] { "state-dict-qwen2_5_vl-3b.txt", "state-dict-qwen2_5_vl-7b.txt" })
        {
            var names = File.ReadAllLines(TestPaths.Fixture("qwen2_5_vl", listing)).Select(l => l.Split('\t')[0]).Where(n => n.Length > 0).ToList();
            Assert.All(names, n => Assert.True(n.StartsWith("model.visual.") || n.StartsWith("model.language_model.") || n == "lm_head.weight", n));
            Assert.All(names, n => Assert.Equal(n, CheckpointKeys.ToTransformers5(CheckpointKeys.ToTransformers4(n))));
            Assert.Equal(names.Count, names.Select(CheckpointKeys.ToTransformers4).Distinct().Count());
        }
    }

    [Fact]
    public void PythonStdlib_ReadsTheHeaderIndependently()
    {
        using var dir = TestPaths.NewTempDir();
        using var model = new TinyVl(tied: true, ScalarType.BFloat16).Randomize(14);
        CheckpointWriter.Save(model, dir.Path);
        // An independent reader: python3's struct + json (no torch/safetensors needed). Checks what safetensors'
        // validate() checks: 8-byte aligned header, contiguous offsets covering the data exactly, sizes match shapes.
        const string script = """
            import json, struct, sys
            b = open(sys.argv[1], 'rb').read()
            n = struct.unpack('<Q', b[:8])[0]
            h = json.loads(b[8:8 + n])
            assert n % 8 == 0 and h.pop('__metadata__') == {'format': 'pt'}
            size = {'F32': 4, 'BF16': 2, 'F16': 2, 'I64': 8}
            end = 0
            for k, v in sorted(h.items(), key=lambda kv: kv[1]['data_offsets']):
                s, e = v['data_offsets']
                count = 1
                for d in v['shape']: count *= d
                assert s == end and e - s == count * size[v['dtype']], k
                end = e
            assert 8 + n + end == len(b)
            print(len(h))
            """;
        ProcessStartInfo psi = new("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(script); psi.ArgumentList.Add(dir.File("model.safetensors"));
        Process? p;
        try { p = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception) { Assert.Skip("python3 is not installed."); return; }
        using (p!)
        {
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stderr);
            Assert.Equal(model.state_dict().Count - 1, int.Parse(stdout.Trim()));   // tied lm_head written once
        }
    }
}
