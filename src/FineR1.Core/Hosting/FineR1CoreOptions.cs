using Microsoft.Extensions.Options;

namespace FineR1.Core.Hosting;

/// <summary>Options of FineR1.Core: where the model lives and how it runs. Bound through <c>IOptions</c>.</summary>
public sealed class FineR1CoreOptions
{
    /// <summary>
    /// HF model folder (<c>config.json</c>, <c>*.safetensors</c>, <c>tokenizer.json</c>), e.g. a local copy of
    /// Qwen/Qwen2.5-VL-3B-Instruct or StevenHH2000/Fine-R1-3B. Null: nothing is loaded at start.
    /// </summary>
    public string? ModelPath { get; set; }

    /// <summary>Device: <c>"auto"</c> (CUDA when available, else CPU), <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// Weight dtype: <c>"auto"</c> (bfloat16 on CUDA, float32 on CPU), <c>"float32"</c>, <c>"bfloat16"</c>, <c>"float16"</c>.
    /// </summary>
    public string DType { get; set; } = "auto";

    /// <summary>Seed of the global TorchSharp generator; null leaves it alone.</summary>
    public long? Seed { get; set; }
}

/// <summary>Validates <see cref="FineR1CoreOptions"/> at start-up.</summary>
internal sealed class FineR1CoreOptionsValidator : IValidateOptions<FineR1CoreOptions>
{
    private static readonly string[] DTypes = ["auto", "float32", "bfloat16", "float16"];

    public ValidateOptionsResult Validate(string? name, FineR1CoreOptions options)
    {
        var errors = new List<string>();
        if (!DeviceSelector.IsValidSpec(options.Device))
            errors.Add($"Device '{options.Device}' is not one of auto, cpu, cuda, cuda:N.");
        if (!DTypes.Contains(options.DType))
            errors.Add($"DType '{options.DType}' is not one of {string.Join(", ", DTypes)}.");
        if (options.ModelPath is not null && !Directory.Exists(options.ModelPath))
            errors.Add($"ModelPath '{options.ModelPath}' does not exist.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
