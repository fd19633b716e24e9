using FineR1.Training.Sft;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Extension methods live in the DI namespace so `services.AddFineR1Sft()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="SftOptions"/> with a <see cref="IServiceCollection"/>.</summary>
public static class SftServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="SftOptions"/> (defaults: the Fine-R1 Stage-1 recipe) with <see cref="SftOptionsValidator"/>, validated
    /// on first use and when the host starts. Bind configuration with
    /// <c>services.AddOptions&lt;SftOptions&gt;().BindConfiguration(SftOptions.SectionName)</c> or configure in code.
    /// </summary>
    /// <example><code>
    /// services.AddFineR1Sft(o => { o.OutputFolder = "runs/sft"; o.Epochs = 3; });
    /// var options = provider.GetRequiredService&lt;IOptions&lt;SftOptions&gt;&gt;().Value;   // throws if invalid
    /// </code></example>
    public static IServiceCollection AddFineR1Sft(this IServiceCollection services, Action<SftOptions>? configure = null)
    {
        var builder = services.AddOptions<SftOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SftOptions>, SftOptionsValidator>());
        return services;
    }
}
