using System.CommandLine;
using FineR1.Core.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace FineR1.Cli;

/// <summary>Options several commands share, and what they resolve to.</summary>
public static class CliOptions
{
    /// <summary>--verbose: stack traces on errors, and the libraries' logs on stderr.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Show the libraries' logs and, on errors, stack traces.", Recursive = true };

    /// <summary>--device.</summary>
    public static Option<string> Device() => new("--device")
    {
        Description = "auto (CUDA when available), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
        Validators = { r => { if (!DeviceSelector.IsValidSpec(r.GetValueOrDefault<string>() ?? "")) r.AddError($"--device must be auto, cpu, cuda or cuda:N."); } },
    };

    /// <summary>--dtype.</summary>
    public static Option<string> DType() => new Option<string>("--dtype")
    {
        Description = "Weight dtype: auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16, float16.",
        DefaultValueFactory = _ => "auto",
    }.AcceptOnlyFromAmong("auto", "float32", "bfloat16", "float16");

    /// <summary>A stderr logger with --verbose, else none.</summary>
    public static ILoggerFactory Loggers(bool verbose) => verbose
        ? LoggerFactory.Create(b => b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Debug))
        : NullLoggerFactory.Instance;
}
