using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo.Data;

/// <summary>
/// The model's own image embedding for hard-negative mining (<see cref="TripletMiner"/>): the vision tower's merged
/// features (<c>[image_tokens, hidden]</c>, what the language model sees) averaged over tokens, in float32.
/// </summary>
public static class VisionEmbedding
{
    /// <summary>An embedder over <paramref name="model"/>'s vision tower and <paramref name="processor"/>.</summary>
    /// <example><c>TripletMiner.Mine(ds, ds.TakeShots(4, 1), problem, VisionEmbedding.Pooled(model, processor))</c></example>
    public static Func<RgbImage, float[]> Pooled(IVisionLanguageModel model, Qwen2VLImageProcessor processor)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(processor);
        return image =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var processed = processor.Process(image);
            var device = model.Device;
            var features = model.GetImageFeatures(processed.PixelValues.to(device), processed.ImageGridThw.to(device)); // [tokens, hidden]
            return features.to_type(ScalarType.Float32).mean([0]).cpu().data<float>().ToArray();
        };
    }
}
