using FineR1.Core.Checkpoints;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;

namespace FineR1.Inference.Tests.Classification;

/// <summary>The README's classification example, run on a tiny random model saved as an HF model folder.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public async Task The_readme_example_runs_on_an_hf_model_folder()
    {
        using var folder = TestPaths.NewTempDir();
        using (var tiny = new TinyQwen())
        {
            CheckpointWriter.Save(tiny.Bundle.Model, folder.Path, new CheckpointSaveOptions { Config = tiny.Bundle.Config });
            File.Copy(TinyQwen.TokenizerFile, folder.File("tokenizer.json.gz"));
        }

        // --- README (model folder and image swapped for the test's; MaxNewTokens kept small for a random model) ---
        using var model = FineR1Model.Load(folder.Path);
        var classifier = new FineGrainedClassifier(model, new ClassifierOptions { ComputeConfidences = true, MaxNewTokens = 12 });
        var result = await classifier.ClassifyAsync(new ClassificationRequest(
            TinyQwen.Image0, "What is the species of the bird?", ["Painted Bunting", "Indigo Bunting", "Lazuli Bunting", "Varied Bunting"]),
            TestContext.Current.CancellationToken);
        // --- end of README ---

        Assert.NotNull(result.Candidates);
        Assert.Equal(4, result.Candidates!.Count);
        Assert.Equal(1.0, result.Candidates.Sum(c => c.Confidence), 9);
        Assert.NotNull(result.Reasoning);
    }
}
