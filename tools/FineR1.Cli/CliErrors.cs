using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using FineR1.Core.Imaging;
using FineR1.Core.Native;
using FineR1.Core.Text.Tokenization;
using FineR1.Inference.Classification;
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
    public const int Ok = 0;
    /// <summary>Something failed that is not the user's input (a bug, out of memory, a device error).</summary>
    public const int Failure = 1;
    /// <summary>Bad usage or input: unknown option, missing file, invalid config, unreadable image or checkpoint.</summary>
    public const int BadInput = 2;
    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;

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
            error.WriteLine($"error: {OneLine(e.Message)}");
            if (verbose) error.WriteLine(e.ToString());
            else if (code == Failure) error.WriteLine("(run with --verbose for details)");
            return code;
        }
    }

    /// <summary>Errors caused by what the user gave: files, folders, configs, images, checkpoints, options.</summary>
    public static bool IsBadInput(Exception e) => e is FileNotFoundException or DirectoryNotFoundException
        or ArgumentException or FormatException or JsonException or YamlException or InvalidDataException
        or ConfigurationException or CheckpointException or TokenizerFormatException or ImageProcessingException
        or ClassificationRequestException or OptionsValidationException or LibTorchNotFoundException or UnauthorizedAccessException;

    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
}
