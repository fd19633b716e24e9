using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using FineR1.Inference.Chat;
using FineR1.Inference.Classification;
using FineR1.Inference.Evaluation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// Extension methods live in the DI namespace so `services.AddFineR1Inference()` is found without extra usings.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FineR1.Inference (classification and evaluation) with a <see cref="IServiceCollection"/>.</summary>
public static class FineR1InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the inference services on top of <c>AddFineR1Core</c> (added here too if missing; call it yourself to set
    /// the model folder and device): the <see cref="FineR1Model"/> bundle (a singleton loaded from
    /// <see cref="FineR1CoreOptions.ModelPath"/> on first use), <see cref="FineGrainedClassifier"/> (singleton, also as
    /// <see cref="IFineGrainedClassifier"/>, <see cref="IFineGrainedPredictor"/> and, through <see cref="FineR1ChatClient"/>,
    /// Microsoft.Extensions.AI's <see cref="IChatClient"/> unless one is registered), <see cref="ClassifierOptions"/> and <see cref="EvaluationRunner"/> (transient;
    /// it uses an <see cref="ITextEmbedder"/> if one is registered, for the open-world similarity).
    /// </summary>
    /// <example><code>
    /// services.AddFineR1Core(o => { o.ModelPath = "/models/Fine-R1-7B"; o.Device = "cuda"; })
    ///         .AddFineR1Inference(o => o.ComputeConfidences = true);
    /// var classifier = provider.GetRequiredService&lt;FineGrainedClassifier&gt;();
    /// </code></example>
    public static IServiceCollection AddFineR1Inference(this IServiceCollection services, Action<ClassifierOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddFineR1Core();
        var builder = services.AddOptions<ClassifierOptions>();
        if (configure is not null) builder.Configure(configure);
        builder.Validate(o => o.BatchSize >= 1 && o.MaxNewTokens >= 1, "ClassifierOptions: BatchSize and MaxNewTokens must be at least 1.")
            .ValidateOnStart();
        services.TryAddSingleton(LoadModel);
        services.TryAddSingleton(sp => new FineGrainedClassifier(sp.GetRequiredService<FineR1Model>(), sp.GetRequiredService<IOptions<ClassifierOptions>>(),
            sp.GetService<ILogger<FineGrainedClassifier>>()));
        services.TryAddSingleton<IFineGrainedClassifier>(sp => sp.GetRequiredService<FineGrainedClassifier>());
        services.TryAddSingleton<IFineGrainedPredictor>(sp => sp.GetRequiredService<FineGrainedClassifier>());
        services.TryAddSingleton<IChatClient>(sp => new FineR1ChatClient(sp.GetRequiredService<IFineGrainedClassifier>(),
            Path.GetFileName(sp.GetRequiredService<IOptions<FineR1CoreOptions>>().Value.ModelPath?.TrimEnd('/', '\\'))));
        services.TryAddTransient(sp => new EvaluationRunner(sp.GetRequiredService<IFineGrainedPredictor>(), sp.GetService<ITextEmbedder>()));
        return services;
    }

    private static FineR1Model LoadModel(IServiceProvider services)
    {
        var core = services.GetRequiredService<IOptions<FineR1CoreOptions>>().Value;
        if (core.ModelPath is null)
            throw new InvalidOperationException("FineR1CoreOptions.ModelPath is not set: call AddFineR1Core(o => o.ModelPath = ...) to load a model.");
        var device = DeviceSelector.Resolve(core.Device);
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<FineR1Model>();
        return FineR1Model.Load(core.ModelPath, device, DeviceSelector.ResolveDType(core.DType, device), logger: logger);
    }
}
