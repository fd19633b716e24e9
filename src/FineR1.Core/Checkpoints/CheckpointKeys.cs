namespace FineR1.Core.Checkpoints;

/// <summary>How tensor names are spelled in a checkpoint.</summary>
public enum CheckpointKeyStyle
{
    /// <summary>
    /// The spelling on the Hub (Qwen2.5-VL-3B/7B-Instruct, Fine-R1-3B/7B) and the one transformers 4.x and 5.x
    /// <c>save_pretrained</c> write: <c>visual.*</c>, <c>model.*</c> (text), <c>lm_head.weight</c>.
    /// </summary>
    Transformers4,

    /// <summary>
    /// The in-memory module names of transformers 5.x (and of FineR1's model): <c>model.visual.*</c>,
    /// <c>model.language_model.*</c>, <c>lm_head.weight</c>.
    /// </summary>
    Transformers5,
}

/// <summary>
/// Translates Qwen2.5-VL tensor names between the two spellings, as transformers' checkpoint conversion mapping does
/// (<c>^visual</c> → <c>model.visual</c>, <c>^model(?!\.(language_model|visual))</c> → <c>model.language_model</c>).
/// Names of other models pass through unchanged.
/// </summary>
/// <example>
/// <code>
/// ToTransformers5("visual.blocks.0.attn.qkv.weight")       // "model.visual.blocks.0.attn.qkv.weight"
/// ToTransformers5("model.layers.3.mlp.up_proj.weight")     // "model.language_model.layers.3.mlp.up_proj.weight"
/// ToTransformers5("lm_head.weight")                        // "lm_head.weight"
/// ToTransformers4("model.language_model.norm.weight")      // "model.norm.weight"
/// </code>
/// </example>
public static class CheckpointKeys
{
    private const string Visual4 = "visual.";
    private const string Visual5 = "model.visual.";
    private const string Text4 = "model.";
    private const string Text5 = "model.language_model.";

    /// <summary>The transformers 5.x (module) spelling of a name; 5.x names are returned unchanged.</summary>
    public static string ToTransformers5(string name)
    {
        if (name.StartsWith(Visual4, StringComparison.Ordinal)) return Visual5 + name[Visual4.Length..];
        if (name.StartsWith(Text4, StringComparison.Ordinal)
            && !name.StartsWith(Text5, StringComparison.Ordinal) && !name.StartsWith(Visual5, StringComparison.Ordinal))
            return Text5 + name[Text4.Length..];
        return name;
    }

    /// <summary>The transformers 4.x (Hub) spelling of a name; 4.x names are returned unchanged.</summary>
    public static string ToTransformers4(string name)
    {
        if (name.StartsWith(Visual5, StringComparison.Ordinal)) return Visual4 + name[Visual5.Length..];
        if (name.StartsWith(Text5, StringComparison.Ordinal)) return Text4 + name[Text5.Length..];
        return name;
    }

    /// <summary>The name in the given spelling.</summary>
    public static string ToStyle(string name, CheckpointKeyStyle style) =>
        style == CheckpointKeyStyle.Transformers4 ? ToTransformers4(name) : ToTransformers5(name);
}
