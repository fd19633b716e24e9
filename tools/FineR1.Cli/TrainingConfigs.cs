using System.Text.Json.Serialization;
using FineR1.Training.Sft;
using FineR1.Training.Tapo;

namespace FineR1.Cli;

/// <summary>The config file of <c>finer1 train sft</c> (every field: docs/cli.md).</summary>
public sealed class SftRunConfig
{
    /// <summary>The Hugging Face model folder to fine-tune (config.json, safetensors, tokenizer.json).</summary>
    public string Model { get; set; } = "";
    /// <summary>The Stage-1 data: a ShareGPT JSON file in the paper's format.</summary>
    public string Data { get; set; } = "";
    /// <summary>Folder the data's image paths are relative to (default: the data file's folder).</summary>
    public string? ImageRoot { get; set; }
    /// <summary>auto (CUDA when available), cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Weight dtype: auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16, float16.</summary>
    [JsonPropertyName("dtype")]
    public string DType { get; set; } = "auto";
    /// <summary>The SFT recipe (<see cref="SftOptions"/>); <c>checkpointing.output_dir</c> is where checkpoints go.</summary>
    public SftOptions Sft { get; set; } = new();
}

/// <summary>The config file of <c>finer1 train tapo</c> (every field: docs/cli.md).</summary>
public sealed class TapoRunConfig
{
    /// <summary>The model folder to start from (normally the Stage-1 SFT checkpoint).</summary>
    public string Model { get; set; } = "";
    /// <summary>The Stage-2 triplets: a Parquet file in the reference format.</summary>
    public string Data { get; set; } = "";
    /// <summary>auto (CUDA when available), cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Weight dtype: auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16, float16.</summary>
    [JsonPropertyName("dtype")]
    public string DType { get; set; } = "auto";
    /// <summary>The TAPO recipe (<see cref="TapoOptions"/>); set <c>checkpointing.output_dir</c> to save and resume.</summary>
    public TapoOptions Tapo { get; set; } = TapoOptions.FineR1_3B();
}
