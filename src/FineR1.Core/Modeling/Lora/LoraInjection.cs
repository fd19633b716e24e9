using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Lora;

/// <summary>
/// Puts LoRA adapters into a model in place and takes them out again (PEFT's <c>get_peft_model</c> and
/// <c>merge_and_unload</c>), for any TorchSharp module whose targeted layers are fields typed
/// <c>nn.Module&lt;Tensor, Tensor&gt;</c> holding an <c>nn.Linear</c> (the Qwen2.5-VL decoder's are).
/// </summary>
/// <example><code>
/// model.ApplyLora(new LoraOptions { Rank = 16, Alpha = 32 });   // model.language_model.layers.0.self_attn.q_proj → LoraLinear
/// var optimizer = optim.AdamW(model.LoraParameters().Select(p => p.Parameter), lr: 2e-4);
/// … train …
/// LoraAdapter.Save(model, "out/adapter", options);             // adapter only (PEFT layout)
/// model.MergeAndUnload();                                        // plain Linear again, HF names
/// CheckpointWriter.Save(model, "out/merged");
/// </code></example>
public static class LoraInjection
{
    /// <summary>
    /// Wraps every <c>nn.Linear</c> under <see cref="LoraOptions.ModulePrefix"/> whose name ends in one of
    /// <see cref="LoraOptions.TargetModules"/> with a <see cref="LoraLinear"/>, and freezes every other parameter of
    /// <paramref name="model"/> (only adapter weights require grad afterwards, as PEFT). Registration order of the
    /// parent's children is kept, so <c>named_parameters()</c> stays in HF order.
    /// </summary>
    /// <returns>Module paths wrapped, e.g. <c>model.language_model.layers.0.self_attn.q_proj</c>.</returns>
    /// <exception cref="ArgumentException">Invalid options, or no module matched.</exception>
    /// <exception cref="InvalidOperationException">The model already has adapters.</exception>
    /// <exception cref="NotSupportedException">A targeted layer is held in a field that cannot take a <see cref="LoraLinear"/>.</exception>
    public static IReadOnlyList<string> ApplyLora(this nn.Module model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model.modules().OfType<LoraLinear>().Any())
            throw new InvalidOperationException("The model already has LoRA adapters; merge or unload them first.");
        var targets = new HashSet<string>(options.TargetModules, StringComparer.Ordinal);
        var matches = model.named_modules()
            .Where(m => m.module is Linear && m.name.StartsWith(options.ModulePrefix, StringComparison.Ordinal)
                        && targets.Contains(m.name[(m.name.LastIndexOf('.') + 1)..]))
            .Select(m => (m.name, Linear: (Linear)m.module)).ToList();
        if (matches.Count == 0)
            throw new ArgumentException(
                $"No nn.Linear under '{options.ModulePrefix}' is named {string.Join(", ", options.TargetModules)}.", nameof(options));

        foreach (var p in model.parameters()) p.requires_grad_(false);
        foreach (var (path, linear) in matches)
            Replace(model, path, new LoraLinear(linear, options.Rank, options.Alpha, options.Dropout));
        return matches.Select(m => m.name).ToList();
    }

    /// <summary>The adapters of <paramref name="model"/> by module path.</summary>
    public static IEnumerable<(string Path, LoraLinear Layer)> LoraLayers(this nn.Module model) =>
        model.named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module));

    /// <summary>Adapter parameters (<c>…lora_A.default.weight</c>, <c>…lora_B.default.weight</c>) to hand to an optimizer.</summary>
    public static IEnumerable<(string Name, Parameter Parameter)> LoraParameters(this nn.Module model) =>
        model.named_parameters().Where(p => IsLoraParameterName(p.name));

    /// <summary>True for PEFT-style adapter parameter names (<c>.lora_A.</c> / <c>.lora_B.</c>).</summary>
    public static bool IsLoraParameterName(string name) =>
        name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);

    /// <summary>
    /// Folds every adapter into its base weight (<c>W += B·A·alpha/r</c>) and puts the plain <c>nn.Linear</c> back,
    /// so state-dict names are HF's again and <c>CheckpointWriter.Save</c> writes a normal checkpoint. Parameters
    /// keep <c>requires_grad = false</c> (call <c>requires_grad_(true)</c> to train the merged model).
    /// </summary>
    /// <returns>Module paths merged.</returns>
    public static IReadOnlyList<string> MergeAndUnload(this nn.Module model) => Unwrap(model, merge: true);

    /// <summary>Removes the adapters without merging (the base model as it was).</summary>
    public static IReadOnlyList<string> Unload(this nn.Module model) => Unwrap(model, merge: false);

    private static IReadOnlyList<string> Unwrap(nn.Module model, bool merge)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = model.LoraLayers().ToList();
        foreach (var (path, layer) in layers)
            Replace(model, path, merge ? layer.MergeIntoBase() : layer.base_layer);
        return layers.Select(l => l.Path).ToList();
    }

    /// <summary>
    /// Sets the field <paramref name="path"/>'s last segment on its parent and re-registers the parent's children in
    /// their original order (TorchSharp appends a re-registered child at the end).
    /// </summary>
    private static void Replace(nn.Module model, string path, nn.Module replacement)
    {
        int dot = path.LastIndexOf('.');
        string parentPath = dot < 0 ? "" : path[..dot], name = path[(dot + 1)..];
        var parent = parentPath.Length == 0 ? model
            : model.named_modules().First(m => m.name == parentPath).module;
        var field = parent.GetType().GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new NotSupportedException($"'{path}': {parent.GetType().Name} has no field '{name}' to hold a LoRA layer.");
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new NotSupportedException(
                $"'{path}': field {parent.GetType().Name}.{name} is typed {field.FieldType.Name} and cannot hold a {replacement.GetType().Name}.");
        var children = parent.named_children().ToList();
        foreach (var (child, _) in children) parent.register_module(child, null!);
        field.SetValue(parent, replacement);
        foreach (var (child, module) in children) parent.register_module(child, child == name ? replacement : module);
    }
}
