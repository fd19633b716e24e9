using System.Text.Json;
using System.Text.Json.Nodes;
using FineR1.Core.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Lora;

/// <summary>
/// Adapter-only checkpoints in PEFT's layout: <c>adapter_model.safetensors</c> with keys
/// <c>base_model.model.&lt;module path&gt;.lora_A.weight</c> / <c>.lora_B.weight</c> (adapter name dropped, as
/// PEFT's <c>save_pretrained</c>) and <c>adapter_config.json</c> (<c>peft_type</c> LORA, <c>r</c>,
/// <c>lora_alpha</c>, <c>lora_dropout</c>, <c>target_modules</c>…).
/// </summary>
/// <example>
/// <c>model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight</c> is stored as
/// <c>base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight</c>. Loading also accepts
/// transformers-4.x module paths (<c>base_model.model.model.layers.0…</c>).
/// </example>
public static class LoraAdapter
{
    /// <summary>Weights file name (PEFT's).</summary>
    public const string WeightsFileName = "adapter_model.safetensors";
    /// <summary>Config file name (PEFT's).</summary>
    public const string ConfigFileName = "adapter_config.json";
    private const string Prefix = "base_model.model.";

    /// <summary>Writes the adapters of <paramref name="model"/> and <paramref name="options"/> to <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidOperationException">The model has no adapters.</exception>
    public static void Save(nn.Module model, string folder, LoraOptions options, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var tensors = model.LoraParameters()
            .Select(p => new KeyValuePair<string, Tensor>(ToPeftKey(p.Name), p.Parameter)).ToList();
        if (tensors.Count == 0) throw new InvalidOperationException("The model has no LoRA adapters to save.");
        Directory.CreateDirectory(folder);
        SafetensorsWriter.Write(Path.Combine(folder, WeightsFileName), tensors, dtype);
        AtomicFile.WriteText(Path.Combine(folder, ConfigFileName), ConfigJson(options));
    }

    /// <summary>Reads <c>adapter_config.json</c> of <paramref name="folder"/>.</summary>
    /// <exception cref="CheckpointException">Missing or malformed file (not LORA, no <c>r</c>, regex targets…).</exception>
    public static LoraOptions ReadOptions(string folder)
    {
        var path = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(path)) throw new CheckpointException("adapter config not found.", path);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var type = root["peft_type"]?.GetValue<string>();
            if (type is not null && type != "LORA") throw new CheckpointException($"peft_type is '{type}', expected LORA.", path);
            if (root["target_modules"] is not JsonArray targets)
                throw new CheckpointException("target_modules must be a list of module names.", path);
            return new LoraOptions
            {
                Rank = root["r"]?.GetValue<int>() ?? throw new CheckpointException("'r' is missing.", path),
                Alpha = root["lora_alpha"]?.GetValue<double>() ?? 8,
                Dropout = root["lora_dropout"]?.GetValue<double>() ?? 0,
                TargetModules = targets.Select(t => t!.GetValue<string>()).ToList(),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"malformed adapter config: {e.Message}", path, e);
        }
    }

    /// <summary>
    /// Loads an adapter folder into <paramref name="model"/>: injects adapters from its config when the model has
    /// none, then copies every stored <c>lora_A</c>/<c>lora_B</c> weight (converted to the model's dtype/device).
    /// Every adapter of the model must be in the file and every tensor of the file must belong to one.
    /// </summary>
    /// <returns>The adapter's options.</returns>
    /// <exception cref="CheckpointException">Missing files, unknown or missing keys, or shapes that disagree.</exception>
    public static LoraOptions Load(nn.Module model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        var options = ReadOptions(folder);
        var path = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(path)) throw new CheckpointException("adapter weights not found.", path);
        if (!model.LoraLayers().Any()) model.ApplyLora(options);
        var parameters = model.LoraParameters().ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        using var file = SafetensorsFile.Open(path);
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var key in file.Entries.Keys)
            {
                var name = FromPeftKey(key, parameters.Keys)
                    ?? throw new CheckpointException($"tensor '{key}' matches no LoRA layer of the model.", path);
                var p = parameters[name];
                using var stored = file.Read(key);
                if (!stored.shape.SequenceEqual(p.shape))
                    throw new CheckpointException(
                        $"'{key}' has shape [{string.Join(", ", stored.shape)}], the model's adapter [{string.Join(", ", p.shape)}].", path);
                p.copy_(stored);
                loaded.Add(name);
            }
        }
        var missing = parameters.Keys.Where(n => !loaded.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new CheckpointException($"{missing.Count} adapter weights missing, e.g. '{ToPeftKey(missing[0])}'.", path);
        return options;
    }

    /// <summary><c>…q_proj.lora_A.default.weight</c> → <c>base_model.model.…q_proj.lora_A.weight</c>.</summary>
    public static string ToPeftKey(string parameterName) =>
        Prefix + parameterName.Replace("." + LoraOptions.DefaultAdapterName + ".", ".", StringComparison.Ordinal);

    /// <summary>The model parameter a PEFT key names (5.x or 4.x module paths), or null.</summary>
    private static string? FromPeftKey(string key, IEnumerable<string> names)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var rest = key[Prefix.Length..];
        foreach (var part in new[] { ".lora_A.", ".lora_B." })
        {
            int at = rest.LastIndexOf(part, StringComparison.Ordinal);
            if (at < 0) continue;
            // Map the module path as a checkpoint key would be (4.x "model.layers.…" → 5.x "model.language_model.layers.…").
            var module = CheckpointKeys.ToTransformers5(rest[..at] + ".weight")[..^".weight".Length];
            var name = module + part + LoraOptions.DefaultAdapterName + "." + rest[(at + part.Length)..];
            return names.Contains(name) ? name : null;
        }
        return null;
    }

    private static string ConfigJson(LoraOptions options)
    {
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["r"] = options.Rank,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = options.Dropout,
            ["target_modules"] = new JsonArray(options.TargetModules.Select(t => (JsonNode)t!).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["use_rslora"] = false,
            ["use_dora"] = false,
            ["init_lora_weights"] = true,
            ["inference_mode"] = true,
            ["modules_to_save"] = null,
            ["base_model_name_or_path"] = null,
        };
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
