using System.IO.Compression;
using System.Text;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

public class QwenTokenizerTests
{
    // A tiny byte-level BPE: "a"+"b" merge, 'Ġ' = space, one special and one non-special added token.
    private static string TinyJson(string merges, string extra = "") => $$$"""
        {"version":"1.0","normalizer":{"type":"NFC"},
         "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]},
         "decoder":{"type":"ByteLevel"},
         "added_tokens":[{"id":4,"content":"<|x|>","special":true},{"id":5,"content":"<y>","special":false}{{{extra}}}],
         "model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"Ġ":3},"merges":{{{merges}}}}}
        """;

    private static QwenTokenizer Tiny(string json, QwenTokenizerOptions? options = null) =>
        QwenTokenizer.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(json)), "tiny.json", options: options);

    [Fact]
    public void Both_merge_formats_give_the_same_tokenizer()
    {
        var oldFormat = Tiny(TinyJson("[\"a b\"]"));
        var newFormat = Tiny(TinyJson("[[\"a\",\"b\"]]"));
        int[] expected = [2, 3, 2, 4, 0, 5];              // "ab", "Ġab" → Ġ+ab, <|x|>, a, <y>
        Assert.Equal(expected, oldFormat.Encode("ab ab<|x|>a<y>"));
        Assert.Equal(expected, newFormat.Encode("ab ab<|x|>a<y>"));
        Assert.Equal("ab ab<|x|>a<y>", newFormat.Decode(expected));
        Assert.Equal("ab aba<y>", newFormat.Decode(expected, skipSpecialTokens: true));   // only special=true is skipped
        Assert.Equal(6, newFormat.VocabularySize);
        Assert.Equal("Ġ", newFormat.IdToToken(3));
        Assert.Equal(2, newFormat.TokenToId("ab"));
        Assert.Null(newFormat.IdToToken(99));
    }

    [Fact]
    public void Loads_from_a_model_folder_plain_or_gzipped_and_filters_added_tokens()
    {
        using var dir = TestPaths.NewTempDir();
        System.IO.File.WriteAllText(dir.File("tokenizer.json"), TinyJson("[\"a b\"]"));
        Assert.Equal(4, QwenTokenizer.Load(dir.Path).GetSpecialTokenId("<|x|>"));
        var trimmed = QwenTokenizer.Load(dir.File("tokenizer.json"), new QwenTokenizerOptions { MaxAddedTokenId = 4 });
        Assert.Single(trimmed.AddedTokens);
        Assert.Throws<KeyNotFoundException>(() => trimmed.GetSpecialTokenId("<y>"));

        using var gzDir = TestPaths.NewTempDir();
        using (var gz = new GZipStream(System.IO.File.Create(gzDir.File("tokenizer.json.gz")), CompressionLevel.Fastest))
            gz.Write(Encoding.UTF8.GetBytes(TinyJson("[\"a b\"]")));
        Assert.Equal([2], QwenTokenizer.Load(gzDir.Path).Encode("ab"));
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("""{"added_tokens":[]}""", "missing \"model\"")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","merges":[]}}""", "missing \"model.vocab\"")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0}}}""", "missing \"model.merges\"")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":["a b c"]}}""", "model.merges[0]")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":[["a"]]}}""", "model.merges[0]")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":["a z"]}}""", "\"z\", which is not in model.vocab")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}}""", "not a non-negative integer id")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"model":{"type":"WordPiece","vocab":{"a":0}}}""", "only \"BPE\"")]
    [InlineData("""{"decoder":{"type":"Metaspace"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""", "ByteLevel")]
    [InlineData("""{"decoder":{"type":"ByteLevel"},"added_tokens":[{"content":"<x>"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}""", "added_tokens[0]")]
    public void Malformed_tokenizer_json_throws_naming_the_file_and_the_problem(string json, string problem)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => Tiny(json));
        Assert.Equal("tiny.json", e.FilePath);
        Assert.Contains("tiny.json", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Missing_files_and_broken_gzip_throw_TokenizerFormatException()
    {
        using var dir = TestPaths.NewTempDir();
        Assert.Contains("tokenizer.json not found", Assert.Throws<TokenizerFormatException>(() => QwenTokenizer.Load(dir.Path)).Message);
        System.IO.File.WriteAllText(dir.File("broken.json.gz"), "not gzip");
        var e = Assert.Throws<TokenizerFormatException>(() => QwenTokenizer.Load(dir.File("broken.json.gz")));
        Assert.EndsWith("broken.json.gz", e.FilePath);
    }

    [Fact]
    public void Lone_surrogates_throw_by_default_or_become_U_FFFD()
    {
        var strict = QwenTokenizerFixture.Qwen2_5_VL;
        var e = Assert.Throws<ArgumentException>(() => strict.Encode("ab\uD800cd"));
        Assert.Contains("index 2", e.Message);
        Assert.Throws<ArgumentException>(() => strict.Encode("\uDC00"));
        Assert.Equal(strict.Encode("😀"), strict.Encode("\uD83D\uDE00"));   // a valid pair is fine

        var lenient = QwenTokenizer.Load(QwenTokenizerFixture.File, QwenTokenizerOptions.Qwen2_5_VL with
        {
            LoneSurrogates = LoneSurrogateHandling.ReplaceWithReplacementCharacter,
        });
        Assert.Equal(lenient.Encode("ab\uFFFDcd\uFFFD"), lenient.Encode("ab\uD800cd\uDC00"));
    }

    [Fact]
    public void Empty_text_and_empty_ids()
    {
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        Assert.Empty(tok.Encode(""));
        Assert.Equal("", tok.Decode([]));
        Assert.Throws<ArgumentNullException>(() => tok.Encode(null!));
    }

    [Fact]
    public void Special_token_ids_by_name_and_unknown_names()
    {
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        Assert.Equal((151643, 151644, 151645, 151652, 151653, 151655, 151656),
            (tok.EndOfTextId, tok.ImStartId, tok.ImEndId, tok.VisionStartId, tok.VisionEndId, tok.ImagePadId, tok.VideoPadId));
        Assert.Equal(151657, tok.GetSpecialTokenId("<tool_call>"));
        var e = Assert.Throws<KeyNotFoundException>(() => tok.GetSpecialTokenId("<|im_middle|>"));
        Assert.Contains("<|im_middle|>", e.Message);
        Assert.Equal(1879, tok.TokenToId("Ġworld"));
        Assert.Equal("Ġworld", tok.IdToToken(1879));
    }

    [Fact]
    public void Decode_skips_only_special_tokens_and_replaces_broken_utf8_like_HF()
    {
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        var ids = tok.Encode("<|im_start|>assistant\n<tool_call>鸟<|im_end|><|endoftext|>");
        Assert.Equal("assistant\n<tool_call>鸟", tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<|im_start|>assistant\n<tool_call>鸟<|im_end|><|endoftext|>", tok.Decode(ids));
        int[] mathOne = [56252, 253, 247];                 // "𝟙" = F0 9D 9F 99, split over three tokens
        Assert.Equal(mathOne, tok.Encode("𝟙"));
        Assert.Equal("𝟙", tok.Decode(mathOne));
        Assert.Equal("\uFFFD", tok.Decode(mathOne[..2]));  // a cut sequence is one U+FFFD (Rust from_utf8_lossy)
        Assert.Equal("a\uFFFDb", tok.Decode([64, 253, 65]));  // a lone continuation byte too
        Assert.Equal("x", tok.Decode([.. tok.Encode("x"), 151700]));   // ids without a token are skipped
    }

    [Fact]
    public void NFC_applies_between_added_tokens_not_across_them()
    {
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        Assert.Equal(tok.Encode("é"), tok.Encode("e\u0301"));
        // '>' + U+0338 would compose to '≯' if the whole text were normalized; HF cuts <|im_end|> out first.
        Assert.Equal([151645, .. tok.Encode("\u0338")], tok.Encode("<|im_end|>\u0338"));
    }
}
