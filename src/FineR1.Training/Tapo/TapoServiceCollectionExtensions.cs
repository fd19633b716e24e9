using FineR1.Training.Tapo;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Extension methods live in the DI namespace so `services.AddFineR1Tapo()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="TapoOptions"/> with a <see cref="IServiceCollection"/>.</summary>
public static class TapoServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="TapoOptions"/> (defaults: the Fine-R1-3B recipe) with <see cref="TapoOptionsValidator"/>, validated
    /// on first use and when the host starts.
    /// </summary>
    /// <example><code>
    /// services.AddFineR1Tapo(o => { o.Algorithm.PositiveRolloutConditioning = PositiveRolloutConditioning.Anchor; });
    /// </code></example>
    public static IServiceCollection AddFineR1Tapo(this IServiceCollection services, Action<TapoOptions>? configure = null)
    {
        var builder = services.AddOptions<TapoOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TapoOptions>, TapoOptionsValidator>());
        return services;
    }
}
