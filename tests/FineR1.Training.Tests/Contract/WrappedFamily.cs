using FineR1.Core.Configuration;
using FineR1.Core.Generation;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Tests.Contract;

/// <summary>
/// A second model family as the trainers see it: an <see cref="IVisionLanguageModel"/> that is not
/// <see cref="Qwen2_5_VLForConditionalGeneration"/> and reaches its weights only through another model's contract. A
/// trainer that casts to the concrete Qwen type, or needs anything the contract does not give, fails with it. Counts the
/// forwards and generation views it hands out, so a test can tell that the trainer went through them.
/// </summary>
internal sealed class WrappedFamily(IVisionLanguageModel inner) : IVisionLanguageModel
{
    public int Forwards { get; private set; }
    public int GenerationModels { get; private set; }
    public int FrozenCopies { get; private set; }

    public string ModelType => "wrapped";
    public nn.Module Module => inner.Module;
    public Device Device => inner.Device;
    public ScalarType DType => inner.DType;
    public long VocabSize => inner.VocabSize;
    public int ImageTokenId => inner.ImageTokenId;
    public IPretrainedConfig Config => inner.Config;
    public Qwen2VLImageProcessorOptions ImageProcessorOptions => inner.ImageProcessorOptions;

    public CausalLMOutput Forward(VisionLanguageInputs inputs)
    {
        Forwards++;
        return inner.Forward(inputs);
    }

    public Tensor GetImageFeatures(Tensor pixelValues, Tensor imageGridThw) => inner.GetImageFeatures(pixelValues, imageGridThw);
    public IEnumerable<(string Name, Parameter Parameter)> UniqueParameters() => inner.UniqueParameters();
    public ModelPart PartOf(string parameterName) => inner.PartOf(parameterName);
    public void SetGradientCheckpointing(bool languageModel, bool visionTower) => inner.SetGradientCheckpointing(languageModel, visionTower);

    public IVisionLanguageModel CreateFrozenCopy()
    {
        FrozenCopies++;
        return new WrappedFamily(inner.CreateFrozenCopy());
    }

    public IGenerationModel CreateGenerationModel()
    {
        GenerationModels++;
        return inner.CreateGenerationModel();
    }

    public void Dispose() => inner.Dispose();
}
