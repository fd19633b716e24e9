using FineR1.Core.Text.Prompts;

namespace FineR1.Core.Tests.Text;

public class FineR1PromptsTests
{
    [Fact]
    public void Closed_world_prompt_renders_options_as_python_str_of_list()
    {
        var prompt = FineR1Prompts.ClosedWorld("What is the name of the pet in the photo?",
            ["American Bulldog", "Staffordshire Bull Terrier", "American Pit Bull Terrier", "Boxer"]);
        Assert.Equal(
            "Given the question: What is the name of the pet in the photo?, based on the options provided in " +
            "['American Bulldog', 'Staffordshire Bull Terrier', 'American Pit Bull Terrier', 'Boxer'], output the thinking process in " +
            "<think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.",
            prompt);
    }

    [Theory]
    [InlineData("colt's foot", "\"colt's foot\"")]
    [InlineData("say \"hi\"", "'say \"hi\"'")]
    [InlineData("it's \"x\"", "'it\\'s \"x\"'")]
    [InlineData("back\\slash", "'back\\\\slash'")]
    [InlineData("tab\there\nnl\r", "'tab\\there\\nnl\\r'")]
    [InlineData("nul\0 del\u007f nbsp\u00a0 zwsp\u200b", "'nul\\x00 del\\x7f nbsp\\xa0 zwsp\\u200b'")]
    [InlineData("Café 鸟 🐦", "'Café 鸟 🐦'")]
    [InlineData("\U000E0001", "'\\U000e0001'")]
    [InlineData("a\\b\n", "'a\\\\b\\n'")]
    [InlineData("Crème brûlée", "'Crème brûlée'")]
    public void Python_repr_quoting_and_escapes(string value, string expected) =>
        Assert.Equal("[" + expected + "]", FineR1Prompts.PythonListRepr([value]));

    [Fact]
    public void Python_list_repr_mixes_quotes_per_item() =>
        Assert.Equal("['daisy', \"colt's foot\"]", FineR1Prompts.PythonListRepr(["daisy", "colt's foot"]));

    [Fact]
    public void Closed_world_prompt_with_four_bird_options_is_the_reference_text() =>
        Assert.Equal("Given the question: Do you know what bird this is?, based on the options provided in ['Black Footed Albatross', 'Heermann Gull', 'Sooty Albatross', 'Laysan Albatross'], output the thinking process in <think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.",
            FineR1Prompts.ClosedWorld("Do you know what bird this is?", ["Black Footed Albatross", "Heermann Gull", "Sooty Albatross", "Laysan Albatross"]));

    [Fact]
    public void Open_world_prompt_and_custom_templates()
    {
        Assert.Equal(
            "Given the question: What bird is this?. This is a fine-grained question. Output reasoning in <think></think> and the final answer in <answer></answer>.",
            FineR1Prompts.OpenWorld("What bird is this?"));
        Assert.Equal("Q={Options}? | ['a']", FineR1Prompts.ClosedWorld("{Options}?", ["a"], template: "Q={Question} | {Options}"));
    }

    [Fact]
    public void TAPO_format_prompt_trims_like_jinja()
    {
        Assert.Equal(
            "<image> Based on this image, what model of car is shown?\n\nYou first think through the reasoning process as an internal monologue, " +
            "enclosed within <think> </think> tags. Then, provide your final answer enclosed within <answer> </answer> tags.",
            FineR1Prompts.TapoFormatPrompt("\x1c \n<image> Based on this image, what model of car is shown?\u3000\t\n"));
    }

    [Fact]
    public void SFT_system_prompt_is_the_released_one()
    {
        Assert.StartsWith("A conversation between User and Assistant. The user asks a question, and the Assistant solves it.", FineR1Prompts.SftSystemPrompt);
        Assert.EndsWith("i.e., <think> reasoning process here </think><answer> answer here </answer>", FineR1Prompts.SftSystemPrompt);
        Assert.Equal(397, FineR1Prompts.SftSystemPrompt.Length);
    }
}
