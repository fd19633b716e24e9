using System.Text.RegularExpressions;

namespace FineR1.Core.Checkpoints;

/// <summary>How strictly <see cref="CheckpointLoader"/> matches checkpoint tensors to module tensors.</summary>
public sealed record CheckpointLoadOptions
{
    /// <summary>Regular expressions (matched anywhere in the module name) of module tensors that may be absent from
    /// the checkpoint, e.g. <c>^lm_head\.</c>. They keep their current values and are listed in
    /// <see cref="CheckpointLoadReport.Missing"/>.</summary>
    public IReadOnlyList<string> IgnoreMissing { get; init; } = [];

    /// <summary>When true, no missing tensor is an error (they are only reported).</summary>
    public bool AllowMissing { get; init; }

    /// <summary>Regular expressions (matched anywhere in the checkpoint name) of checkpoint tensors the module may
    /// lack; they are skipped and reported in <see cref="CheckpointLoadReport.Unexpected"/>.</summary>
    public IReadOnlyList<string> IgnoreUnexpected { get; init; } = [];

    /// <summary>When true, no checkpoint tensor without a module counterpart is an error (they are only reported).</summary>
    public bool AllowUnexpected { get; init; }

    /// <summary>
    /// Loads a part of the model into a module of its own: only checkpoint tensors under this prefix are considered
    /// (in either spelling) and the prefix is removed from their names; the rest of the checkpoint is ignored.
    /// E.g. <c>"model.visual."</c> loads <c>visual.blocks.0.norm1.weight</c> (or <c>model.visual.blocks.0.norm1.weight</c>)
    /// into a vision tower's <c>blocks.0.norm1.weight</c>.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>Everything must match exactly (the default).</summary>
    public static CheckpointLoadOptions Strict { get; } = new();

    internal static bool AnyMatch(IReadOnlyList<string> patterns, string name) =>
        patterns.Any(p => Regex.IsMatch(name, p, RegexOptions.CultureInvariant));
}
