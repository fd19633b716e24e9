// Extension methods live in the DI namespace so `services.AddFineR1Training()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FineR1.Training (CoT SFT and TAPO) with a <see cref="IServiceCollection"/>.</summary>
public static class FineR1TrainingServiceCollectionExtensions
{
    /// <summary>Adds the training services on top of <c>AddFineR1Core</c> (added here too if missing).</summary>
    public static IServiceCollection AddFineR1Training(this IServiceCollection services)
    {
        services.AddFineR1Core();
        return services;
    }
}
