using System.CommandLine;
using FineR1.Training.Data;
using FineR1.Training.Distributed;
using FineR1.Training.Sft;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using Spectre.Console;

namespace FineR1.Cli;

/// <summary><c>finer1 train sft CONFIG</c> and <c>finer1 train tapo CONFIG</c> (JSON or YAML; docs/cli.md).</summary>
public static class TrainCommands
{
    /// <summary>Builds <c>train</c> with its two subcommands.</summary>
    public static Command Create()
    {
        var train = new Command("train", "Train from a config file (JSON or YAML): Stage-1 CoT SFT or Stage-2 TAPO. Runs resume from the newest checkpoint.");
        train.Subcommands.Add(Sft());
        train.Subcommands.Add(Tapo());
        return train;
    }

    private static Argument<string> ConfigArgument() => new("config") { Description = "The config file (.json, .yaml or .yml); every field: docs/cli.md." };

    private static Option<bool> NoResume() => new("--no-resume") { Description = "Start from the model instead of the newest checkpoint in the output folder." };

    private static Command Sft()
    {
        var config = ConfigArgument();
        var noResume = NoResume();
        var command = new Command("sft", "Chain-of-thought supervised fine-tuning (the paper's Stage 1).") { config, noResume };
        DistributedTraining.AddOptions(command);
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var file = parse.GetValue(config)!;
            var run = ConfigFile.Load<SftRunConfig>(file);
            Require(file, ("model", run.Model), ("data", run.Data));
            if (parse.GetValue(noResume)) run.Sft.Checkpointing.ResumeFromLatest = false;
            if (DistributedTraining.LaunchIfAsked(parse, ct) is { } launched) return launched;
            using var communicator = DistributedTraining.JoinIfRank(file, run.Device);
            using var loggers = CliOptions.Loggers(parse.GetValue(CliOptions.Verbose));
            using var bundle = await CliProgress.LoadModelAsync(run.Model, run.Device, run.DType, loggers, ct);
            var trainer = new SftTrainer(bundle.Model, bundle.Tokenizer, run.Sft, loggers.CreateLogger("FineR1.Training"))
            {
                GradientSynchronizer = communicator is null ? null : new AllReduceGradientSynchronizer(communicator),
            };
            var records = ShareGptDataset.Load(run.Data, run.ImageRoot ?? Path.GetDirectoryName(Path.GetFullPath(run.Data)));
            var examples = trainer.Prepare(records, run.Data);
            var result = await CliProgress.RunAsync(ctx =>
            {
                var bar = ctx.AddTask("SFT", maxValue: 1);
                var progress = new SyncProgress<SftProgress>(p =>
                {
                    bar.MaxValue = p.TotalSteps;
                    bar.Value = p.Step;
                    bar.Description = $"SFT step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}";
                });
                return Task.Run(() => trainer.Train(examples, progress, ct), CancellationToken.None);
            });
            Console.WriteLine(result.LastCheckpoint is { } last ? $"checkpoint: {last}" : "no checkpoint written");
            return result.Completed ? CliErrors.Ok : CliErrors.Interrupted;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }

    private static Command Tapo()
    {
        var config = ConfigArgument();
        var noResume = NoResume();
        var command = new Command("tapo", "TAPO reinforcement learning with intra- and inter-class augmentation (the paper's Stage 2).") { config, noResume };
        DistributedTraining.AddOptions(command);
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var file = parse.GetValue(config)!;
            var run = ConfigFile.Load<TapoRunConfig>(file);
            Require(file, ("model", run.Model), ("data", run.Data));
            if (parse.GetValue(noResume)) run.Tapo.Checkpointing.ResumeFromLatest = false;
            if (DistributedTraining.LaunchIfAsked(parse, ct) is { } launched) return launched;
            using var communicator = DistributedTraining.JoinIfRank(file, run.Device);
            using var loggers = CliOptions.Loggers(parse.GetValue(CliOptions.Verbose));
            using var bundle = await CliProgress.LoadModelAsync(run.Model, run.Device, run.DType, loggers, ct);
            var samples = TapoParquetDataset.Load(run.Data);
            using var trainer = new TapoTrainer(bundle.Model, new TapoPromptEncoder(bundle.Tokenizer), samples, run.Tapo,
                gradientSynchronizer: communicator is null ? null : new AllReduceGradientSynchronizer(communicator),
                logger: loggers.CreateLogger("FineR1.Training"));
            await CliProgress.RunAsync(ctx =>
            {
                var bar = ctx.AddTask("TAPO", maxValue: trainer.TotalSteps);
                bar.Value = trainer.StepCount;
                var progress = new SyncProgress<TapoStepMetrics>(m =>
                {
                    bar.Value = m.Step;
                    bar.Description = $"TAPO step {m.Step}/{trainer.TotalSteps} reward {m.Reward:F3}";
                });
                // Cancelled between steps: Train saves a checkpoint (checkpointing.save_on_cancel) and returns.
                return Task.Run(() => trainer.Train(progress, ct), CancellationToken.None);
            });
            Console.WriteLine(trainer.LastCheckpoint is { } last ? $"checkpoint: {last}" : "no checkpoint written (set tapo.checkpointing.output_dir)");
            bool interrupted = trainer.StepCount < trainer.TotalSteps;
            return interrupted ? CliErrors.Interrupted : CliErrors.Ok;
        }, parse.GetValue(CliOptions.Verbose)));
        return command;
    }

    private static void Require(string file, params (string Field, string Value)[] fields)
    {
        foreach (var (field, value) in fields)
            if (string.IsNullOrWhiteSpace(value)) throw new CliInputException($"{file}: field {field} is required.");
    }

    /// <summary>Reports on the trainer's thread (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
