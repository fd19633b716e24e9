using Microsoft.Extensions.Options;

namespace FineR1.Training.Checkpointing;

/// <summary>Checks <see cref="CheckpointingOptions"/>; the SFT and TAPO validators report its failures under
/// <c>Checkpointing.</c>.</summary>
public sealed class CheckpointingOptionsValidator : IValidateOptions<CheckpointingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CheckpointingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        Check(options.OutputDir is null || !string.IsNullOrWhiteSpace(options.OutputDir),
            "OutputDir must be null (write nothing) or a folder path, got a blank string.");
        Check(options.SaveEverySteps >= 0, $"SaveEverySteps must be ≥ 0, got {options.SaveEverySteps}.");
        Check(options.KeepLast >= 0, $"KeepLast must be ≥ 0 (0 = keep all), got {options.KeepLast}.");
        Check(options.MetricsFileName is null or "" || options.MetricsFileName.IndexOfAny(Path.GetInvalidFileNameChars()) < 0,
            $"MetricsFileName must be a plain file name, got '{options.MetricsFileName}'.");
        Check(options.BaseModelFolder is null || Directory.Exists(options.BaseModelFolder),
            $"BaseModelFolder '{options.BaseModelFolder}' does not exist.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The failures of <paramref name="options"/>, each prefixed with <c>Checkpointing.</c> (the property name
    /// in <c>SftOptions</c> and <c>TapoOptions</c>); a null record is itself a failure.</summary>
    internal static IEnumerable<string> FailuresOf(CheckpointingOptions? options) =>
        options is null ? ["Checkpointing must not be null."]
        : new CheckpointingOptionsValidator().Validate(null, options) is { Failed: true } r ? r.Failures.Select(f => "Checkpointing." + f)
        : [];
}
