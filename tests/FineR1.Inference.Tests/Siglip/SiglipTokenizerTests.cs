using FineR1.Core.Configuration;
using FineR1.Inference.Siglip;

namespace FineR1.Inference.Tests.Siglip;

public class SiglipTokenizerTests
{
    private static SiglipTokenizer Tiny(int maxLength = 8) =>
        SiglipTokenizer.Create(new MemoryStream(TinySentencePieceModel.Build()), maxLength);

    [Theory]
    [InlineData("Black-Footed  Albatross!", "\u2581blackfooted\u2581albatross")]
    [InlineData("colt's foot", "\u2581colts\u2581foot")]
    [InlineData("Boeing 727-200", "\u2581boeing\u2581727200")]
    [InlineData(" a\t", "\u2581\u2581a")]      // a leading space survives as a second ▁, as in HF
    [InlineData("", "\u2581")]
    [InlineData("x\u2581y", "\u2581x\u2581y")]
    public void Normalizes_like_HF_SiglipTokenizer(string text, string expected) =>
        Assert.Equal(expected, SiglipTokenizer.Normalize(text));

    [Fact]
    public void Encodes_pieces_then_eos_then_eos_padding_to_max_length()
    {
        var tok = Tiny();
        // ▁black(4) footed(5) ▁albatross(6) </s>(1), padded with </s>(1)
        Assert.Equal([4L, 5, 6, 1, 1, 1, 1, 1], tok.Encode("Black-Footed  Albatross!"));
        Assert.Equal([1L, 1, 1, 1, 0, 0, 0, 0], tok.AttentionMask("Black-Footed  Albatross!"));
        // "▁▁a" → ▁(3) ▁a(7)
        Assert.Equal([3L, 7, 1, 1, 1, 1, 1, 1], tok.Encode(" a"));
        // "" → "▁" → ▁(3)
        Assert.Equal([3L, 1, 1, 1, 1, 1, 1, 1], tok.Encode(""));
    }

    [Fact]
    public void Truncates_to_max_length_minus_one_and_keeps_eos()
    {
        var tok = Tiny(maxLength: 4);
        Assert.Equal([7L, 7, 7, 1], tok.Encode("a a a a a"));
    }

    [Fact]
    public void A_missing_model_names_the_path()
    {
        using var dir = TestPaths.NewTempDir();
        var e = Assert.Throws<ConfigurationException>(() => SiglipTokenizer.Load(dir.Path));
        Assert.Contains(dir.Path, e.Message);
    }
}

public class SentencePieceModelPatchTests
{
    [Fact]
    public void Microsoft_ML_Tokenizers_needs_the_patch_for_bos_id_minus_one()
    {
        // If this starts passing without the patch, Microsoft.ML.Tokenizers was fixed and the patch can go.
        Assert.ThrowsAny<Exception>(() => Microsoft.ML.Tokenizers.SentencePieceTokenizer.Create(
            new MemoryStream(TinySentencePieceModel.Build()), addBeginningOfSentence: false, addEndOfSentence: false));
        var patched = FineR1.Inference.Siglip.SentencePieceModelPatch.EnsureBosPiece(TinySentencePieceModel.Build());
        var sp = Microsoft.ML.Tokenizers.SentencePieceTokenizer.Create(new MemoryStream(patched), addBeginningOfSentence: false, addEndOfSentence: false);
        Assert.Equal(4, sp.Vocabulary["\u2581black"]);                       // existing ids unchanged
        Assert.Equal(3 + TinySentencePieceModel.NormalPieces.Length, sp.Vocabulary["<s>"]);   // appended after them
        var again = FineR1.Inference.Siglip.SentencePieceModelPatch.EnsureBosPiece(patched);
        Assert.Equal(patched, again);                                        // a valid bos_id is left alone
    }
}
