using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Tokenization;

namespace FineR1.Core.Tests.Text;

/// <summary><see cref="QwenTokenizer.WithClosedVocabulary"/> on the real Qwen2.5-VL tokenizer.</summary>
public class ClosedVocabularyTests
{
    private static readonly string[] Corpus =
        ["The Vicorith Wren has an emerald crown.", "<think> a spotted breast</think>\n\n<answer>Vicorith Wren</answer>"];

    [Fact]
    public void Renumbers_the_used_tokens_in_original_order_and_round_trips()
    {
        var full = QwenTokenizerFixture.Qwen2_5_VL;
        var closed = full.WithClosedVocabulary(Corpus);
        var original = closed.ClosedVocabulary!;
        Assert.True(original.SequenceEqual(original.Order()), "compact ids follow the original ids' order");
        foreach (var text in Corpus)
        {
            int[] compact = closed.Encode(text);
            Assert.Equal(full.Encode(text), compact.Select(closed.OriginalId).ToArray());
            Assert.Equal(text, closed.Decode(compact));
            Assert.All(compact, id => Assert.InRange(id, 0, closed.VocabularySize - 1));
        }
        int used = Corpus.SelectMany(full.Encode).Distinct().Count();
        int specials = full.AddedTokens.Count(t => t.Special);
        Assert.Equal(used + specials, closed.VocabularySize);
    }

    [Fact]
    public void Special_tokens_are_always_kept_and_remapped()
    {
        var full = QwenTokenizerFixture.Qwen2_5_VL;
        var closed = full.WithClosedVocabulary(["hello"]);
        Assert.Equal(full.ImEndId, closed.OriginalId(closed.ImEndId));
        Assert.Equal(full.ImagePadId, closed.OriginalId(closed.ImagePadId));
        Assert.Equal(full.VideoPadId, closed.OriginalId(closed.VideoPadId));
        Assert.True(closed.ImagePadId < closed.VocabularySize);
        Assert.True(closed.IsSpecial(closed.ImEndId));
        Assert.False(closed.IsSpecial(closed.Encode("hello")[0]));
        Assert.Equal("<|im_end|>", closed.IdToToken(closed.ImEndId));
        Assert.Equal(closed.ImEndId, closed.TokenToId("<|im_end|>"));
        Assert.Null(closed.TokenToId("Ġworld"));                         // a real token, but not in this vocabulary
        Assert.Equal("hello", closed.Decode([.. closed.Encode("hello<|im_end|>")], skipSpecialTokens: true));
    }

    [Fact]
    public void The_chat_template_works_on_a_closed_vocabulary()
    {
        var full = QwenTokenizerFixture.Qwen2_5_VL;
        var messages = new[] { ChatMessage.User(new ImageContent(new VisionGrid(1, 4, 4)), new TextContent("hello")), ChatMessage.Assistant("hi") };
        var a = new QwenChatTemplate(full).Encode(messages);
        var closed = full.WithClosedVocabulary(a.InputIds);
        var b = new QwenChatTemplate(closed).Encode(messages);
        Assert.Equal(a.InputIds, b.InputIds.Select(closed.OriginalId).ToArray());
        Assert.Equal(4, b.InputIds.Count(id => id == closed.ImagePadId));   // 4×4 patches, merge 2 → 4 placeholders
    }

    [Fact]
    public void A_text_outside_the_vocabulary_is_rejected_with_the_token_named()
    {
        var closed = QwenTokenizerFixture.Qwen2_5_VL.WithClosedVocabulary(["hello"]);
        var e = Assert.Throws<ArgumentException>(() => closed.Encode("hello world"));
        Assert.Contains("\" world\"", e.Message);
        Assert.Contains("closed vocabulary", e.Message);
        Assert.Throws<InvalidOperationException>(() => closed.WithClosedVocabulary(["x"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => closed.OriginalId(closed.VocabularySize));
        Assert.Throws<ArgumentOutOfRangeException>(() => QwenTokenizerFixture.Qwen2_5_VL.WithClosedVocabulary([151_900]));   // a padded row, no token
        Assert.Equal("", closed.Decode([closed.VocabularySize + 5]));    // ids outside are skipped, as HF skips unknown ids
    }
}
