using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling;
using FineR1.Core.Pipeline;
using FineR1.Core.Text.Tokenization;
using FineR1.Tests;
using static TorchSharp.torch;

namespace FineR1.Inference.Tests.Classification;

/// <summary>
/// A tiny random Qwen2.5-VL (hidden 64, two layers; the tiny-a fixture's shapes) whose vocabulary holds the real Qwen
/// tokenizer (151,936 rows, Qwen's special-token ids), bundled with that tokenizer. Shared by a test class.
/// </summary>
public sealed class TinyQwen : IDisposable
{
    public static string TokenizerFile => TestPaths.Fixture("tokenizer", "qwen-tokenizer.json.gz");
    public static string Image0 => TestPaths.Fixture("qwen2_5_vl", "tiny-a", "image0.png");
    public static string Image1 => TestPaths.Fixture("qwen2_5_vl", "tiny-a", "image1.png");

    public FineR1Model Bundle { get; }

    public TinyQwen()
    {
        var tiny = Qwen2_5_VLConfig.Load(TestPaths.Fixture("qwen2_5_vl", "tiny-a", "config.json"));
        var config = tiny with
        {
            Text = tiny.Text with { VocabSize = 151936 },
            ImageTokenId = 151655, VideoTokenId = 151656, VisionStartTokenId = 151652, VisionEndTokenId = 151653,
        };
        manual_seed(1234);
        var model = new Qwen2_5_VLForConditionalGeneration(config, CPU, ScalarType.Float32);
        Bundle = new FineR1Model(model, QwenTokenizer.Load(TokenizerFile, QwenTokenizerOptions.Qwen2_5_VL));
    }

    /// <summary>Writes the model as a Hugging Face model folder (config.json, safetensors, tokenizer) and returns its path.</summary>
    public string SaveFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        CheckpointWriter.Save(Bundle.Model, folder, new CheckpointSaveOptions { Config = Bundle.Config });
        File.Copy(TokenizerFile, Path.Combine(folder, "tokenizer.json.gz"), overwrite: true);
        return folder;
    }

    public void Dispose() => Bundle.Dispose();
}
