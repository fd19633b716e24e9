using FineR1.Core.Imaging;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FineR1.Core.Pipeline;

/// <summary>How <see cref="FineR1Model.LoadAsync"/> loads a model folder.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Where the weights go; null: CUDA when TorchSharp sees a GPU, else CPU.</summary>
    public Device? Device { get; init; }
    /// <summary>Weight dtype; null: <see cref="FineR1Model.DefaultDType"/> (bfloat16 on CUDA, float32 on CPU).</summary>
    public ScalarType? DType { get; init; }
    /// <summary>Image preprocessing; null: <see cref="Qwen2VLImageProcessorOptions.FineR1Evaluation"/>.</summary>
    public Qwen2VLImageProcessorOptions? ImageOptions { get; init; }
    /// <summary>Run one short generation after loading, so the first real request does not pay for kernel and allocator set-up.</summary>
    public bool WarmUp { get; init; } = true;
    /// <summary>Receives what was loaded, where, in which dtype and how long it took (<see cref="Diagnostics.FineR1LogEvents"/>).</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>The stages of <see cref="FineR1Model.LoadAsync"/>, in order.</summary>
public enum ModelLoadStage
{
    /// <summary>Checking the folder: <c>config.json</c>, the tokenizer, the weight files, the memory they need.</summary>
    Config,
    /// <summary>Allocating the model and reading the safetensors weights.</summary>
    Weights,
    /// <summary>The warm-up generation.</summary>
    WarmUp,
    /// <summary>Ready.</summary>
    Done,
}

/// <summary>Progress of <see cref="FineR1Model.LoadAsync"/>: the stage now starting and the fraction of the work done (0 to 1).</summary>
/// <param name="Stage">The stage now starting.</param>
/// <param name="Fraction">Estimated fraction done: weights dominate, so config and tokenizer count little.</param>
public sealed record ModelLoadProgress(ModelLoadStage Stage, double Fraction);
