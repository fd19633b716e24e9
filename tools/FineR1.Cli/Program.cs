// finer1: the FineR1 command line (docs/cli.md).
using System.CommandLine;
using FineR1.Cli;

DistributedTraining.CommandLine = args;   // forwarded to the ranks by `train … --nproc-per-node N`
var root = new RootCommand("finer1: fine-grained visual recognition with Fine-R1 (Qwen2.5-VL) on .NET — classify, evaluate, train, quickstart.");
root.Options.Add(CliOptions.Verbose);
root.Subcommands.Add(ClassifyCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(TrainCommands.Create());
root.Subcommands.Add(QuickstartCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine($"(see: finer1 {string.Join(' ', parse.CommandResult.Command == root ? [] : new[] { parse.CommandResult.Command.Name })} --help)".Replace("  ", " "));
    return CliErrors.BadInput;
}
// Ctrl+C: the first press cancels the command's token (it stops at its next check, training saves a checkpoint first,
// and it returns 130 with one line); a second press lets the runtime end the process.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (interrupt.IsCancellationRequested) return;
    e.Cancel = true;
    Console.Error.WriteLine("interrupted: stopping after the current step (press Ctrl+C again to quit at once) …");
    interrupt.Cancel();
};
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, interrupt.Token);
