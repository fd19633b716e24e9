using System.Text;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

/// <summary>
/// Long pre-tokens (unspaced CJK, emoji, punctuation runs) go through <see cref="ByteLevelBpe"/>, the linear-time merge;
/// these tests show it gives the ids of the library's merge and of HF, so sending any pre-token there is safe.
/// </summary>
[Trait("Category", "Parity")]
public class LongInputTokenizerTests
{
    private static QwenTokenizer Load(int longPreTokenChars)
    {
        var tokenizer = QwenTokenizer.Load(QwenTokenizerFixture.File, QwenTokenizerOptions.Qwen2_5_VL);
        tokenizer.LongPreTokenChars = longPreTokenChars;
        return tokenizer;
    }

    private static readonly Lazy<QwenTokenizer> EveryPreTokenLinear = new(() => Load(0));
    private static readonly Lazy<QwenTokenizer> NoPreTokenLinear = new(() => Load(int.MaxValue));

    [Fact]
    public void The_linear_merge_gives_the_reference_ids_on_every_reference_case()
    {
        var cases = QwenTokenizerParityTests.ReferenceCases().Where(c => !QwenTokenizerFixture.HasQwen3OnlyToken(c.Text)).ToList();
        Assert.Equal(1478, cases.Count);
        var failures = cases.Where(c => !EveryPreTokenLinear.Value.Encode(c.Text).SequenceEqual(c.Ids)).Select(c => c.Text).Take(5).ToList();
        Assert.True(failures.Count == 0, "differs on: " + string.Join(" | ", failures));
    }

    /// <summary>Texts without spaces mixing scripts, emoji and punctuation: one or a few very long pre-tokens.</summary>
    public static TheoryData<int> Seeds => [1, 2, 3, 4, 5, 6];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Long_unspaced_text_gives_the_same_ids_through_both_merges(int seed)
    {
        var random = new Random(seed);
        string[] alphabets = ["的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年", "😀🚀🎉👍🏽🇩🇪", "абвгдежзийклмнопрст",
                              "!?.,;:-_=+*/\\|<>()[]{}", "ＡＢＣ１２３ｱｲｳ", "αβγδεζηθ", "éèêëàâäôöûüç", "𠀀𠀁𝐇𝐈"];
        var text = new StringBuilder();
        while (text.Length < 3000)
        {
            var alphabet = alphabets[random.Next(alphabets.Length)];
            var runes = alphabet.EnumerateRunes().ToArray();
            for (int i = random.Next(50, 400); i > 0; i--) text.Append(runes[random.Next(runes.Length)].ToString());
        }
        var s = text.ToString();
        Assert.Equal(NoPreTokenLinear.Value.Encode(s), EveryPreTokenLinear.Value.Encode(s));
    }

    [Fact]
    public void The_default_threshold_gives_the_librarys_ids_on_a_long_CJK_run()
    {
        var random = new Random(7);
        var s = new string(Enumerable.Range(0, 20_000).Select(_ => (char)(0x4E00 + random.Next(3000))).ToArray());
        var ids = QwenTokenizerFixture.Qwen2_5_VL.Encode(s);
        Assert.Equal(NoPreTokenLinear.Value.Encode(s), ids);
        Assert.Equal(s, QwenTokenizerFixture.Qwen2_5_VL.Decode(ids));
    }
}
