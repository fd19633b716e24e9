using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Pipeline;
using FineR1.Inference.Classification;

namespace FineR1.Inference.Tests.Classification;

/// <summary>A checkpoint's generation_config.json gives the decoding defaults; explicit classifier options override them (HF generate).</summary>
public sealed class GenerationConfigTests
{
    /// <summary>Qwen2.5-VL-7B-Instruct's generation_config.json as published.</summary>
    private const string QwenInstruct = """
        {
          "bos_token_id": 151643,
          "pad_token_id": 151643,
          "do_sample": true,
          "eos_token_id": [151645, 151643],
          "repetition_penalty": 1.05,
          "temperature": 0.1,
          "top_p": 0.001,
          "top_k": 1,
          "transformers_version": "4.41.2"
        }
        """;

    [Fact]
    public void The_reference_evaluation_decodes_greedily_with_the_checkpoints_repetition_penalty()
    {
        var defaults = GenerationConfig.Parse(QwenInstruct);
        var options = new ClassifierOptions().ToGenerationOptions(defaults);        // do_sample=False passed, as the reference
        Assert.False(options.DoSample);
        Assert.Equal(1.05, options.RepetitionPenalty);
        Assert.Equal([151645L, 151643L], options.StopTokenIds);
        Assert.Equal(151643, options.PadTokenId);
        Assert.Equal(2048, options.MaxNewTokens);
    }

    [Fact]
    public void Explicit_options_override_the_file_and_unset_ones_fall_back_to_HF_defaults()
    {
        var defaults = GenerationConfig.Parse(QwenInstruct);
        var explicitOff = new ClassifierOptions { RepetitionPenalty = 1.0 }.ToGenerationOptions(defaults);
        Assert.Equal(1.0, explicitOff.RepetitionPenalty);
        var sampling = new ClassifierOptions { DoSample = true, TopP = 0.9 }.ToGenerationOptions(defaults);
        Assert.Equal((0.1, 0.9, 1), (sampling.Temperature, sampling.TopP, sampling.TopK));   // temperature and top-k from the file
        var none = new ClassifierOptions().ToGenerationOptions();                            // no generation_config.json
        Assert.Equal((1.0, 1.0, 1.0, 50), (none.RepetitionPenalty, none.Temperature, none.TopP, none.TopK));
        Assert.Equal(new GenerationOptions().StopTokenIds, none.StopTokenIds);
    }

    [Fact]
    public void A_wrong_field_type_names_the_file_and_the_field()
    {
        var e = Assert.Throws<ConfigurationException>(() => GenerationConfig.Parse("""{ "repetition_penalty": "high" }""", "/models/x/generation_config.json"));
        Assert.Contains("repetition_penalty", e.Message);
        Assert.Contains("/models/x/generation_config.json", e.Message);
    }

    [Fact]
    public void FineR1Model_Load_reads_the_folders_generation_config()
    {
        using var folder = TestPaths.NewTempDir();
        using (var tiny = new TinyQwen())
        {
            CheckpointWriter.Save(tiny.Bundle.Model, folder.Path, new CheckpointSaveOptions { Config = tiny.Bundle.Config });
            File.Copy(TinyQwen.TokenizerFile, folder.File("tokenizer.json.gz"));
        }
        using (var withoutFile = FineR1Model.Load(folder.Path)) Assert.Null(withoutFile.GenerationConfig);
        File.WriteAllText(folder.File(GenerationConfig.FileName), QwenInstruct);
        using var model = FineR1Model.Load(folder.Path);
        Assert.Equal(1.05, model.GenerationConfig?.RepetitionPenalty);
    }
}
