using FineR1.Core.Hosting;
using FineR1.Core.Pipeline;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace FineR1.Cli;

/// <summary>Spectre.Console progress bars for long work (drawn on stderr, so stdout keeps only results).</summary>
public static class CliProgress
{
    /// <summary>The console progress is drawn on.</summary>
    public static readonly IAnsiConsole Console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        // In a data-parallel job only rank 0 draws progress bars (N ranks share one terminal); errors still print.
        Out = new AnsiConsoleOutput(IsSecondaryRank ? TextWriter.Null : System.Console.Error),
    });

    private static bool IsSecondaryRank => DistributedTraining.IsRank && Environment.GetEnvironmentVariable("RANK") is { } rank && rank != "0";

    /// <summary>Runs <paramref name="work"/> while showing its progress bars.</summary>
    public static Task<T> RunAsync<T>(Func<ProgressContext, Task<T>> work) =>
        Console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(work);

    /// <summary>
    /// Loads a model folder with a progress bar, on the device and in the dtype of the given specs (auto: CUDA when
    /// available; bfloat16 on CUDA, float32 on CPU), logging to <paramref name="loggers"/>.
    /// </summary>
    public static Task<FineR1Model> LoadModelAsync(string folder, string deviceSpec, string dtypeSpec, ILoggerFactory loggers, CancellationToken ct)
    {
        var device = DeviceSelector.Resolve(deviceSpec);
        return LoadModelAsync(folder, new ModelLoadOptions
        {
            Device = device, DType = DeviceSelector.ResolveDType(dtypeSpec, device), WarmUp = false, Logger = loggers.CreateLogger("FineR1"),
        }, ct);
    }

    private static Task<FineR1Model> LoadModelAsync(string folder, ModelLoadOptions options, CancellationToken ct) =>
        RunAsync(async ctx =>
        {
            var task = ctx.AddTask($"loading {Markup.Escape(Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)))}", maxValue: 1.0);
            var model = await FineR1Model.LoadAsync(folder, options, new Progress<ModelLoadProgress>(p =>
            {
                task.Value = p.Fraction;
                task.Description = $"loading model: {p.Stage}";
            }), ct);
            task.Value = 1.0;
            return model;
        });
}
