using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Fuzz;

/// <summary>
/// Mutated inputs (fixed seeds, a few seconds each): every case is accepted or refused with the input's documented
/// exception type, never another exception, a crash or a hang (docs/reliability.md lists the counts).
/// </summary>
public class InputFuzzTests
{
    public const int SafetensorsCases = 400, ConfigCases = 600, TokenizerCases = 300, ImageCases = 600;

    [Fact(Timeout = 120_000)]
    public async Task Mutated_safetensors_headers_give_CheckpointException_only() => await Task.Run(() =>
    {
        var original = File.ReadAllBytes(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "model.safetensors"));
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        using var dir = new TempDir();
        var refused = Fuzzer.Run<CheckpointException>(seed: 14, SafetensorsCases, (fuzz, i) =>
        {
            var path = dir.File($"case{i}.safetensors");
            File.WriteAllBytes(path, fuzz.Bytes(original, onlyFirst: headerEnd));
            using var file = SafetensorsFile.Open(path);
            foreach (var name in file.Entries.Keys.Take(8)) file.Read(name).Dispose();
        });
        Assert.InRange(refused, SafetensorsCases / 4, SafetensorsCases);     // the mutations do reach the checks
    }, TestContext.Current.CancellationToken);

    [Fact(Timeout = 120_000)]
    public async Task Mutated_config_json_gives_ConfigurationException_only() => await Task.Run(() =>
    {
        var original = File.ReadAllText(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));
        var refused = Fuzzer.Run<ConfigurationException>(seed: 14, ConfigCases, (fuzz, _) =>
        {
            var config = Qwen2_5_VLConfig.Parse(fuzz.Json(original), "config.json");
            Assert.InRange(ModelMemory.ParameterCount(config), 1, long.MaxValue);   // sizes are bounded: no overflow
        });
        Assert.InRange(refused, ConfigCases / 4, ConfigCases);
    }, TestContext.Current.CancellationToken);

    [Fact(Timeout = 120_000)]
    public async Task Mutated_tokenizer_json_gives_TokenizerFormatException_only() => await Task.Run(() =>
    {
        var original = SmallTokenizerJson();
        var refused = Fuzzer.Run<TokenizerFormatException>(seed: 14, TokenizerCases, (fuzz, i) =>
        {
            var bytes = i % 4 == 0 ? fuzz.Bytes(Encoding.UTF8.GetBytes(original)) : Encoding.UTF8.GetBytes(fuzz.Json(original));
            var tokenizer = QwenTokenizer.FromStream(new MemoryStream(bytes));
            foreach (var text in new[] { "hello world", "abc<|im_end|>x", "数字 12 😀", "" })
            {
                var ids = tokenizer.Encode(text);
                _ = tokenizer.Decode(ids);
                _ = tokenizer.Encode(text, splitSpecialTokens: true);
            }
        });
        Assert.InRange(refused, TokenizerCases / 10, TokenizerCases);
    }, TestContext.Current.CancellationToken);

    [Fact(Timeout = 120_000)]
    public async Task Mutated_png_and_jpeg_bytes_give_ImageProcessingException_only() => await Task.Run(() =>
    {
        string[] sources = ["src_61x47.png", "palette_32x24.png", "gray_33x21.png", "rgba_40x30.png", "rgb_64x48.jpg", "exif6_40x24.jpg", "cmyk_32x32.jpg", "lossless_36x20.webp"];
        var originals = sources.Select(s => File.ReadAllBytes(TestPaths.Fixture("imaging", s))).ToArray();
        var limits = new ImageLimits { MaxPixels = 4_000_000 };   // a mutated header may claim any size
        var refused = Fuzzer.Run<ImageProcessingException>(seed: 14, ImageCases, (fuzz, i) =>
        {
            var bytes = fuzz.Bytes(originals[i % originals.Length], onlyFirst: fuzz.Next(2) == 0 ? 64 : null);
            var image = ImageDecoder.Decode(bytes, $"case{i}", limits: limits);
            Assert.True(image.Width > 0 && image.Height > 0);
        });
        Assert.InRange(refused, ImageCases / 10, ImageCases);
    }, TestContext.Current.CancellationToken);

    /// <summary>A byte-level BPE tokenizer.json small enough to parse hundreds of times: 256 byte tokens, a few merges, Qwen's added tokens.</summary>
    internal static string SmallTokenizerJson()
    {
        var vocab = new JsonObject();
        int id = 0;
        for (var c = 0; c < 0x144; c++)
            if (c is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255 or >= 256) vocab[((char)c).ToString()] = id++;
        string[] merges = ["h e", "l l", "he ll", "o Ġ", "Ġ w", "w o"];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = id++;
        var added = new JsonArray();
        foreach (var (content, special) in new[] { ("<|endoftext|>", true), ("<|im_start|>", true), ("<|im_end|>", true), ("<|image_pad|>", true), ("<tool_call>", false) })
            added.Add(new JsonObject { ["id"] = id++, ["content"] = content, ["special"] = special });
        return new JsonObject
        {
            ["added_tokens"] = added,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel" },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(merges.Select(m => (JsonNode)m).ToArray()) },
        }.ToJsonString();
    }
}
