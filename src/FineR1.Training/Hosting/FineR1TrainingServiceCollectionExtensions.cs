using FineR1.Training.Sft;
using FineR1.Training.Tapo;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Extension methods live in the DI namespace so `services.AddFineR1Training()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FineR1.Training (CoT SFT and TAPO) with a <see cref="IServiceCollection"/>.</summary>
public static class FineR1TrainingServiceCollectionExtensions
{
    /// <summary>
    /// Adds <c>AddFineR1Core</c> (if missing), <see cref="SftOptions"/> (defaults: the Fine-R1 Stage-1 recipe) and
    /// <see cref="TapoOptions"/> (defaults: the Fine-R1-3B recipe), each with its validator (<see cref="SftOptionsValidator"/>,
    /// <see cref="TapoOptionsValidator"/>), run on first use and when the host starts. The trainers run the same
    /// validators on options given to them directly. Bind configuration with
    /// <c>services.AddOptions&lt;SftOptions&gt;().BindConfiguration(SftOptions.SectionName)</c> (TAPO:
    /// <see cref="TapoOptions.SectionName"/>) or configure in code.
    /// </summary>
    /// <example><code>
    /// services.AddFineR1Training(
    ///     sft: o => { o.Checkpointing.OutputDir = "runs/sft"; o.Epochs = 3; },
    ///     tapo: o => o.Algorithm.PositiveRolloutConditioning = PositiveRolloutConditioning.Anchor);
    /// var sft = provider.GetRequiredService&lt;IOptions&lt;SftOptions&gt;&gt;().Value;   // throws if invalid
    /// </code></example>
    public static IServiceCollection AddFineR1Training(this IServiceCollection services, Action<SftOptions>? sft = null,
        Action<TapoOptions>? tapo = null)
    {
        services.AddFineR1Core();
        AddValidated<SftOptions, SftOptionsValidator>(services, sft);
        AddValidated<TapoOptions, TapoOptionsValidator>(services, tapo);
        return services;
    }

    private static void AddValidated<TOptions, TValidator>(IServiceCollection services, Action<TOptions>? configure)
        where TOptions : class where TValidator : class, IValidateOptions<TOptions>
    {
        var builder = services.AddOptions<TOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }
}
