using FineR1.Inference.Evaluation;

namespace FineR1.Inference.Tests.Evaluation;

public class EvalPromptsTests
{
    [Fact]
    public void Closed_world_prompt_is_the_reference_text_with_a_python_list()
    {
        string prompt = EvalPrompts.ClosedWorld("Do you know what bird this is?",
            ["Black Footed Albatross", "Heermann Gull", "Sooty Albatross", "Laysan Albatross"]);
        Assert.Equal("Given the question: Do you know what bird this is?, based on the options provided in ['Black Footed Albatross', 'Heermann Gull', 'Sooty Albatross', 'Laysan Albatross'], output the thinking process in <think> </think> and final choice in <answer> </answer> tags. The response format should be: <think>...</think> <answer>choice</answer>.", prompt);
    }

    [Fact]
    public void Open_world_prompt_is_the_reference_text() =>
        Assert.Equal("Given the question: What kind of bird is this?. This is a fine-grained question. Output reasoning in <think></think> and the final answer in <answer></answer>.",
            EvalPrompts.OpenWorld("What kind of bird is this?"));

    [Theory]
    [InlineData("colt's foot", "\"colt's foot\"")]
    [InlineData("say \"hi\"", "'say \"hi\"'")]
    [InlineData("it's \"x\"", "'it\\'s \"x\"'")]
    [InlineData("a\\b\n", "'a\\\\b\\n'")]
    [InlineData("Crème brûlée", "'Crème brûlée'")]
    public void Python_repr_quotes_like_cpython(string text, string expected) =>
        Assert.Equal(expected, PythonRepr.String(text));

    [Fact]
    public void Python_list_repr_mixes_quotes_per_item() =>
        Assert.Equal("['daisy', \"colt's foot\"]", PythonRepr.List(["daisy", "colt's foot"]));
}
