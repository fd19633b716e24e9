using System.Text.Json;
using FineR1.Core.Native;
using Microsoft.Extensions.Options;
using YamlDotNet.Core;

namespace FineR1.Cli;

/// <summary>
/// The exit codes and error lines of every finer1 command, in one place: 0 done, 1 failure, 2 bad usage or input,
/// 130 interrupted (Ctrl+C). An error is one line on stderr (<c>error: …</c>); the stack trace only with --verbose.
/// </summary>
public static class CliErrors
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = ExitCodes.Ok;
    /// <summary>Something failed that is not the user's input (a bug, out of memory, a device error).</summary>
    public const int Failure = ExitCodes.Failure;
    /// <summary>Bad usage or input: unknown option, missing file, invalid config, unreadable image or checkpoint.</summary>
    public const int BadInput = ExitCodes.BadInput;
    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = ExitCodes.Interrupted;

    /// <summary>Runs a command body and turns what it throws into an exit code and one line on stderr.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body, bool verbose, TextWriter? error = null)
    {
        error ??= Console.Error;
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("interrupted.");
            return Interrupted;
        }
        catch (Exception e)
        {
            int code = IsBadInput(e) ? BadInput : Failure;
            error.WriteLine($"error: {CliApp.OneLine(e)}");
            if (verbose) error.WriteLine(e.ToString());
            else if (code == Failure) error.WriteLine("(run with --verbose for details)");
            return code;
        }
    }

    /// <summary>
    /// Errors caused by what the user gave: the apps' common rule (<see cref="CliApp.ExitCodeOf"/>: FineR1's input
    /// exceptions, missing files and folders, bad values) plus what only this tool meets: YAML/JSON syntax, invalid
    /// training options, and a missing libtorch backend.
    /// </summary>
    public static bool IsBadInput(Exception e) => CliApp.ExitCodeOf(e) == ExitCodes.BadInput
        || e is JsonException or YamlException or OptionsValidationException or LibTorchNotFoundException or UnauthorizedAccessException;
}
