using FineR1.Core.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Extension methods live in the DI namespace so `services.AddFineR1Core()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FineR1.Core with a <see cref="IServiceCollection"/>.</summary>
public static class FineR1CoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds FineR1.Core: <see cref="FineR1CoreOptions"/> (validated when the host starts) and the core services.
    /// </summary>
    /// <example><code>
    /// services.AddFineR1Core(o => { o.ModelPath = "/models/Fine-R1-3B"; o.Device = "cuda"; });
    /// </code></example>
    public static IServiceCollection AddFineR1Core(this IServiceCollection services, Action<FineR1CoreOptions>? configure = null)
    {
        var builder = services.AddOptions<FineR1CoreOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FineR1CoreOptions>, FineR1CoreOptionsValidator>());
        return services;
    }
}
