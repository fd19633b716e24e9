using FineR1.Core.Imaging;
using FineR1.Core.Text.Chat;
using FineR1.Core.Text.Prompts;

namespace FineR1.Core.Tests.Text;

public class QwenChatTemplateTests
{
    private static QwenChatTemplate Template => new(QwenTokenizerFixture.Qwen2_5_VL);

    private static readonly ChatMessage[] DogQuestion =
        [ChatMessage.User(new ImageContent(new VisionGrid(1, 4, 6)), new TextContent("What kind of dog is this?"))];

    [Fact]
    [Trait("Category", "Parity")]
    public void A_user_turn_with_an_image_starts_with_the_HF_integration_test_prefix()
    {
        var ids = Template.Encode(DogQuestion, addGenerationPrompt: true).InputIds;
        int[] hfPrefix = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151655];
        Assert.Equal(hfPrefix, ids[..17]);

        // 1·4·6/4 = 6 pads, then the text, <|im_end|>\n and the generation prompt <|im_start|>assistant\n.
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        int[] expected = [.. hfPrefix[..14], 151652, .. Enumerable.Repeat(151655, 6), 151653,
            .. tok.Encode("What kind of dog is this?"), 151645, 198, 151644, 77091, 198];
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Renders_the_text_of_Qwen2_5_VLs_jinja_template()
    {
        const string jinjaOutput =
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What kind of dog is this?<|im_end|>\n" +
            "<|im_start|>assistant\n";
        Assert.Equal(jinjaOutput, QwenChatTemplate.Render(DogQuestion, addGenerationPrompt: true, expandVisionPads: false));
        Assert.Equal(jinjaOutput.Replace("<|image_pad|>", string.Concat(Enumerable.Repeat("<|image_pad|>", 6))),
            QwenChatTemplate.Render(DogQuestion, addGenerationPrompt: true));
        Assert.Equal(jinjaOutput[..^"<|im_start|>assistant\n".Length], QwenChatTemplate.Render(DogQuestion, addGenerationPrompt: false, expandVisionPads: false));
    }

    [Fact]
    public void A_given_system_message_replaces_the_default_and_vision_ids_are_numbered()
    {
        ChatMessage[] chat =
        [
            ChatMessage.System("Be brief."),
            ChatMessage.User(new ImageContent(new VisionGrid(1, 2, 2)), new ImageContent(new VisionGrid(1, 2, 4)), new VideoContent(new VisionGrid(2, 2, 2)), new TextContent("Compare.")),
        ];
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n" +
            "Picture 1: <|vision_start|><|image_pad|><|vision_end|>Picture 2: <|vision_start|><|image_pad|><|image_pad|><|vision_end|>" +
            "Video 1: <|vision_start|><|video_pad|><|video_pad|><|vision_end|>Compare.<|im_end|>\n",
            QwenChatTemplate.Render(chat, addGenerationPrompt: false, addVisionId: true));
    }

    [Fact]
    public void The_SFT_mask_covers_assistant_content_im_end_and_newline_only()
    {
        const string answer = "<think> The bill is long.</think>\n\n<answer>Laysan Albatross</answer>";
        ChatMessage[] chat =
        [
            ChatMessage.System(FineR1Prompts.SftSystemPrompt),
            ChatMessage.WithImagePlaceholders("user", "<image>What is the proper name of this bird?", [new ImageContent(new VisionGrid(1, 4, 4))]),
            ChatMessage.Assistant(answer),
        ];
        var encoding = Template.Encode(chat);
        var tok = QwenTokenizerFixture.Qwen2_5_VL;

        // The ids are those of the rendered text (no boundary effect here) ...
        Assert.Equal(tok.Encode(QwenChatTemplate.Render(chat, addGenerationPrompt: false)), encoding.InputIds);
        // ... and the target is exactly answer + <|im_end|> + "\n", at the end.
        var target = encoding.InputIds.Where((_, i) => encoding.AssistantMask[i]).ToArray();
        Assert.Equal([.. tok.Encode(answer), 151645, 198], target);
        Assert.True(encoding.AssistantMask[^target.Length..].All(m => m));
        var labels = encoding.Labels();
        Assert.Equal(-100, labels[0]);
        Assert.Equal(198, labels[^1]);
        Assert.Equal(encoding.InputIds.Length - target.Length, labels.Count(l => l == -100));
    }

    [Fact]
    public void Every_assistant_turn_of_a_multi_turn_chat_is_a_target()
    {
        ChatMessage[] chat = [ChatMessage.User("Hi"), ChatMessage.Assistant("Hello!"), ChatMessage.User("Bird?"), ChatMessage.Assistant("Crow.")];
        var encoding = Template.Encode(chat);
        var tok = QwenTokenizerFixture.Qwen2_5_VL;
        var target = encoding.InputIds.Where((_, i) => encoding.AssistantMask[i]).ToArray();
        Assert.Equal([.. tok.Encode("Hello!"), 151645, 198, .. tok.Encode("Crow."), 151645, 198], target);
        Assert.Equal("Hello!<|im_end|>\nCrow.<|im_end|>\n", tok.Decode(target));
    }

    [Fact]
    public void Image_placeholders_split_like_TAPO_build_messages()
    {
        var image = new ImageContent(new VisionGrid(1, 2, 2));
        var message = ChatMessage.WithImagePlaceholders("user", FineR1Prompts.TapoFormatPrompt("<image> Based on this image, what model of car is shown?"), [image]);
        Assert.Equal(2, message.Content.Count);
        Assert.Same(image, message.Content[0]);
        Assert.StartsWith(" Based on this image, what model of car is shown?\n\nYou first think", ((TextContent)message.Content[1]).Text);
        Assert.Throws<ArgumentException>(() => ChatMessage.WithImagePlaceholders("user", "<image><image>x", [image]));
    }

    [Fact]
    public void Bad_grids_and_empty_chats_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.Render([ChatMessage.User(new ImageContent(new VisionGrid(1, 3, 3)))], false));
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.Render([ChatMessage.User(new ImageContent(new VisionGrid(0, 2, 2)))], false));
        Assert.Throws<ArgumentException>(() => QwenChatTemplate.Render([], false));
        Assert.Equal(256, new ImageContent(new VisionGrid(1, 32, 32)).PadTokenCount());
    }
}
