using Microsoft.Extensions.Options;

namespace FineR1.Training;

/// <summary>
/// The one validation idiom of FineR1.Training: every options class has an <see cref="IValidateOptions{TOptions}"/>
/// validator, which DI runs on first use and at host start (<c>AddFineR1Training</c>, <c>ValidateOnStart</c>), and which
/// a trainer runs through <see cref="ThrowIfInvalid{TOptions}"/> when it is given options directly — so both paths
/// report the same problems with the same exception.
/// </summary>
public static class TrainingOptionsValidation
{
    /// <summary>Runs <paramref name="validator"/> and throws <see cref="OptionsValidationException"/> listing every
    /// problem.</summary>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public static void ThrowIfInvalid<TOptions>(IValidateOptions<TOptions> validator, TOptions options) where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(options);
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), result.Failures);
    }
}
