using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Modeling.Vision;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Vision;

/// <summary>
/// Test-side loader for the vision tower of the tiny HF fixture: weights are stored as <c>model.visual.*</c>
/// (transformers 5.x) or <c>visual.*</c> (4.x); both are accepted.
/// </summary>
internal static class VisionFixture
{
    public static string Folder => TestPaths.Fixture("qwen2_5_vl", "tiny-a");

    public static Qwen2_5_VLVisionConfig Config() => Qwen2_5_VLConfig.Load(Path.Combine(Folder, "config.json")).Vision;

    /// <summary>The visual tensors of the checkpoint, keyed by their name relative to the tower.</summary>
    public static Dictionary<string, SafetensorsEntry> VisualEntries(SafetensorsFile file)
    {
        var entries = new Dictionary<string, SafetensorsEntry>();
        foreach (var (key, entry) in file.Entries)
        {
            foreach (var prefix in new[] { "model.visual.", "visual." })
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                    entries.Add(key[prefix.Length..], entry);
        }
        return entries;
    }

    public static Qwen2_5_VisionTransformerPretrainedModel Load(Device? device = null, ScalarType? dtype = null)
    {
        var model = new Qwen2_5_VisionTransformerPretrainedModel(Config(), device, dtype);
        // The visual part of the full checkpoint (stored as visual.* or model.visual.*), every tensor required.
        CheckpointLoader.Load(model, Path.Combine(Folder, "model.safetensors"), new CheckpointLoadOptions { Prefix = "model.visual." });
        model.eval();
        return model;
    }

    public static Tensor Expected(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "expected.safetensors"));
        return file.Read(name);
    }

    public static Tensor Grid(params long[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64).view(rows.Length, 3);

    /// <summary>‖a − b‖ / ‖b‖ in float64.</summary>
    public static double RelativeError(Tensor actual, Tensor reference)
    {
        using var scope = torch.NewDisposeScope();
        var a = actual.to(ScalarType.Float64, CPU);
        var b = reference.to(ScalarType.Float64, CPU);
        return (a - b).norm().item<double>() / b.norm().item<double>();
    }
}
