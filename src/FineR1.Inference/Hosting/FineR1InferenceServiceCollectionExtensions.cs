// Extension methods live in the DI namespace so `services.AddFineR1Inference()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FineR1.Inference (classification and evaluation) with a <see cref="IServiceCollection"/>.</summary>
public static class FineR1InferenceServiceCollectionExtensions
{
    /// <summary>Adds the inference services on top of <c>AddFineR1Core</c> (added here too if missing).</summary>
    public static IServiceCollection AddFineR1Inference(this IServiceCollection services)
    {
        services.AddFineR1Core();
        return services;
    }
}
