using FineR1.Inference.Classification;

namespace FineR1.Inference.Tests.Classification;

public class ReasoningPartsTests
{
    // docs/method.md §4.2, example 2 (Stage-1 record 299, CUB-200; Fine-R1 repository, MIT), abridged inside each section.
    private const string Released =
        "<think> Analysis of the Bird's Physical Appearance\nThe bird in the image exhibits several distinctive features:\n1. Head: royal blue.\n\n" +
        " Candidate Subcategories\nGiven the vivid coloration:\n- Painted Bunting (Passerina ciris)\n- Indigo Bunting (Passerina cyanea)\n\n" +
        "The analysis of candidate subcategories: \n1. Painted Bunting (Passerina ciris)\n\n\n" +
        " Comparison Process\n- Painted Bunting vs. Indigo Bunting: the Indigo Bunting is predominantly blue.\n\n" +
        " Final Prediction\nBased on the detailed comparison, the bird is the Painted Bunting.\n\nThe prediction is: Painted Bunting (Passerina ciris)\n" +
        "</think>\n\n<answer>Painted Bunting</answer>";

    [Fact]
    public void The_released_free_text_headings_split_into_the_four_parts()
    {
        var parts = ReasoningParts.Parse(Released);
        Assert.StartsWith("Analysis of the Bird's Physical Appearance", parts.Think);
        Assert.EndsWith("The prediction is: Painted Bunting (Passerina ciris)", parts.Think);
        Assert.Equal("The bird in the image exhibits several distinctive features:\n1. Head: royal blue.", parts.VisualAnalysis);
        Assert.StartsWith("Given the vivid coloration:", parts.Candidates);
        Assert.EndsWith("The analysis of candidate subcategories: \n1. Painted Bunting (Passerina ciris)", parts.Candidates);   // the recap stays with the candidates
        Assert.Equal("- Painted Bunting vs. Indigo Bunting: the Indigo Bunting is predominantly blue.", parts.Comparison);
        Assert.Equal("Based on the detailed comparison, the bird is the Painted Bunting.\n\nThe prediction is: Painted Bunting (Passerina ciris)", parts.Prediction);
    }

    [Fact]
    public void Colon_headings_numbered_or_markdown_headings_and_unknown_headings()
    {
        var parts = ReasoningParts.Parse("<think> Analysis of the Visual Features:\nGray fur.\n\n## Candidate Subcategories:\n1. British Shorthair\n" +
            "**Comparison Process:**\n- straight ears\n Final Prediction:\nBritish Shorthair\n Description of the Pet:\nA gray cat.</think><answer>British Shorthair</answer>");
        Assert.Equal("Gray fur.", parts.VisualAnalysis);
        Assert.Equal("1. British Shorthair", parts.Candidates);
        Assert.Equal("- straight ears", parts.Comparison);
        Assert.Equal("British Shorthair\n Description of the Pet:\nA gray cat.", parts.Prediction);
    }

    [Fact]
    public void A_sentence_starting_with_a_keyword_is_not_a_heading()
    {
        var parts = ReasoningParts.Parse("<think>Analysis: the wings are long and the bill is hooked.</think><answer>x</answer>");
        Assert.Null(parts.VisualAnalysis);
        Assert.Equal("Analysis: the wings are long and the bill is hooked.", parts.Think);
    }

    [Fact]
    public void The_papers_tags_are_used_when_present()
    {
        var parts = ReasoningParts.Parse("<think><analysis>blue head</analysis><options>A, B</options><comparison>A has it</comparison><prediction>A</prediction></think><answer>A</answer>");
        Assert.Equal(("blue head", "A, B", "A has it", "A"), (parts.VisualAnalysis, parts.Candidates, parts.Comparison, parts.Prediction));
    }

    [Fact]
    public void No_structure_or_no_think_tags_leave_the_parts_empty()
    {
        var parts = ReasoningParts.Parse("It is probably a gull. <answer>Heermann Gull</answer>");
        Assert.Equal("It is probably a gull.", parts.Think);
        Assert.Null(parts.VisualAnalysis);
        Assert.Null(parts.Prediction);
        Assert.Equal("", ReasoningParts.Parse("").Think);
    }
}
