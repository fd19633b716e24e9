using FineR1.Core;

namespace FineR1.Cli;

/// <summary>The exit codes of the FineR1 command-line apps (docs/reliability.md).</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;
    /// <summary>The program failed (a bug, out of memory, a disk error).</summary>
    public const int Failure = 1;
    /// <summary>Bad usage or bad input (a missing or malformed file, an invalid option value); nothing was started or lost.</summary>
    public const int BadInput = 2;
    /// <summary>Interrupted by Ctrl+C; results written so far are kept.</summary>
    public const int Interrupted = 130;
}

/// <summary>A command line that cannot be run (unknown option, missing value, bad number); the usage text is shown.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An input a command line names is unusable (a missing file, an output path that cannot be written).</summary>
public sealed class CliInputException(string message) : Exception(message);

/// <summary>
/// The one rule every <c>finer1</c> command follows to turn an exception into an exit code (<see cref="ExitCodes"/>) and
/// one line on stderr; <see cref="CliErrors.RunAsync"/> applies it around each command.
/// </summary>
public static class CliApp
{
    /// <summary>The exit code for an exception that ended the work.</summary>
    public static int ExitCodeOf(Exception e, bool cancelRequested = false) => e switch
    {
        OperationCanceledException when cancelRequested => ExitCodes.Interrupted,
        AggregateException { InnerExceptions.Count: 1 } a => ExitCodeOf(a.InnerException!, cancelRequested),
        UsageException or CliInputException or FineR1InputException or ArgumentException or FormatException
            or FileNotFoundException or DirectoryNotFoundException => ExitCodes.BadInput,
        _ => ExitCodes.Failure,
    };

    /// <summary>The exception's message on one line (inner messages joined with ": " where they add something).</summary>
    public static string OneLine(Exception e)
    {
        var text = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException!.Message : e.Message;
        if (ExitCodeOf(e) == ExitCodes.Failure) text = $"{e.GetType().Name}: {text}";
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}

/// <summary>Parsing and checking command-line values, each failure a <see cref="UsageException"/> or <see cref="CliInputException"/>.</summary>
public static class CliArgs
{
    /// <summary>An existing folder.</summary>
    public static string ExistingFolder(string what, string path) =>
        Directory.Exists(path) ? path
        : File.Exists(path) ? throw new CliInputException($"{what} {path} is a file, not a folder.")
        : throw new CliInputException($"{what} not found: {path}");

    /// <summary>An existing regular file (not a folder or a device).</summary>
    public static string RegularFile(string what, string path)
    {
        Core.IO.InputFile.Check(path, long.MaxValue, message => new CliInputException($"{what} {path}: {message}"));
        return path;
    }

    /// <summary>Creates the output folder (and checks it can be written) before any work starts.</summary>
    public static string OutputFolder(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".write-test-{Guid.NewGuid():N}");
            System.IO.File.WriteAllBytes(probe, []);
            System.IO.File.Delete(probe);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CliInputException($"cannot write the output folder {path} ({e.Message}).");
        }
    }
}
