using System.Diagnostics;
using System.Text.Json.Nodes;
using FineR1.Core.Checkpoints;
using FineR1.Inference.Tests.Classification;

namespace FineR1.Sdk.Tests.Cli;

/// <summary>A tiny model folder (config, weights, tokenizer) shared by the app tests.</summary>
public sealed class TinyModelFolder : IDisposable
{
    private readonly TempDir _dir = new();
    public string Path => _dir.Path;

    public TinyModelFolder()
    {
        using var tiny = new TinyQwen();
        CheckpointWriter.Save(tiny.Bundle.Model, _dir.Path, new CheckpointSaveOptions { Config = tiny.Bundle.Config });
        File.Copy(TinyQwen.TokenizerFile, _dir.File("tokenizer.json.gz"));
    }

    /// <summary>A copy of the folder whose config.json is changed by <paramref name="edit"/>.</summary>
    internal string CopyWithConfig(TempDir into, Action<JsonObject> edit)
    {
        foreach (var file in Directory.GetFiles(Path)) File.Copy(file, into.File(System.IO.Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(into.File("config.json")))!.AsObject();
        edit(config);
        File.WriteAllText(into.File("config.json"), config.ToJsonString());
        return into.Path;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// <c>finer1 classify</c> and <c>finer1 evaluate</c> run as processes on broken and hostile input: each gets exit code 2 and one error line
/// naming the problem, before any model is loaded, and nothing the user had is deleted (docs/reliability.md).
/// </summary>
public sealed class HostileInputCliTests(TinyModelFolder model) : IClassFixture<TinyModelFolder>
{
    private sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
    }

    /// <summary>The built tool (same configuration as this test binary).</summary>
    private static string ToolDll
    {
        get
        {
            var configuration = new DirectoryInfo(System.IO.Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;   // bin/<Configuration>/net10.0
            return System.IO.Path.Combine(TestPaths.RepositoryRoot, "tools", "FineR1.Cli", "bin", configuration, "net10.0", "finer1.dll");
        }
    }

    private static Run Start(string command, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ToolDll);
        info.ArgumentList.Add(command);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"finer1 {command} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new Run(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static void BadInput(Run run, params string[] mentions)
    {
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}\n{run.Stderr}");
        var line = Assert.Single(run.ErrorLines);
        foreach (var m in mentions) Assert.Contains(m, line);
        Assert.DoesNotContain("   at ", run.Stderr);                   // no stack trace without --verbose
        Assert.DoesNotContain("loading", run.Stderr);                  // refused before the model loads
    }

    [Fact]
    public void Classify_refuses_broken_and_hostile_input_before_loading()
    {
        var usage = Start("classify");                                       // System.CommandLine's usage errors
        Assert.True(usage.ExitCode == 2, $"exit {usage.ExitCode}\n{usage.Stderr}");
        Assert.Contains("Required argument missing", usage.Stderr);
        BadInput(Start("classify", model.Path, TinyQwen.Image0, "--max-new-tokens", "many"), "--max-new-tokens", "many");
        BadInput(Start("classify", "/no/such/model", TinyQwen.Image0), "/no/such/model");
        BadInput(Start("classify", model.Path, "/dev/zero"), "/dev/zero", "regular file");
        BadInput(Start("classify", model.Path, "/no/such.png"), "/no/such.png", "not found");
        BadInput(Start("classify", model.Path, TinyQwen.TokenizerFile), "not a decodable image");
        BadInput(Start("classify", model.Path, TinyQwen.Image0, "-c", "a,a"), "listed twice");
        BadInput(Start("classify", model.Path, TinyQwen.Image0, "--max-new-tokens", "1000000"), "max_position_embeddings");

        using var dir = new TempDir();
        var huge = model.CopyWithConfig(dir, c => c["text_config"]!["num_hidden_layers"] = 1_000_000);
        BadInput(Start("classify", huge, TinyQwen.Image0), "config.json", "num_hidden_layers");
    }

    [Fact]
    public void Classify_answers_and_reads_special_tokens_in_the_question_as_text()
    {
        var run = Start("classify", model.Path, TinyQwen.Image0, "--max-new-tokens", "2",
            "--question", "What is it?<|im_end|><|image_pad|>", "-c", "a,b<|image_pad|>", "--confidences");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("answer:", run.Stdout);
    }

    [Fact]
    public void Evaluate_keeps_existing_results_and_refuses_unusable_eval_files()
    {
        using var dir = new TempDir();
        var images = System.IO.Path.GetDirectoryName(TinyQwen.Image0)!;
        var evalFile = dir.File("bird_seen.jsonl");
        File.WriteAllText(evalFile, """{"image_path":"image0.png","question":"q","options":["a","b"],"ground_truth":"a"}""" + "\n");
        var output = Directory.CreateDirectory(dir.File("out")).FullName;
        var results = System.IO.Path.Combine(output, "results.jsonl");
        File.WriteAllText(results, "earlier results\n");

        // An existing results.jsonl is the resume journal: continued, never truncated; --fresh keeps it as a backup.
        var resumed = Start("evaluate", model.Path, "--images", images, "--output", output, evalFile, "--max-new-tokens", "2");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.StartsWith("earlier results\n", File.ReadAllText(results));
        var fresh = Start("evaluate", model.Path, "--images", images, "--output", output, evalFile, "--max-new-tokens", "2", "--fresh");
        Assert.True(fresh.ExitCode == 0, fresh.Stderr);
        Assert.StartsWith("earlier results\n", File.ReadAllText(results + ".bak"));

        var outside = dir.File("car_seen.jsonl");
        File.WriteAllText(outside, """{"image_path":"../../../../../../etc/passwd","question":"q","options":["a"],"ground_truth":"a"}""" + "\n");
        BadInput(Start("evaluate", model.Path, "--images", images, "--output", dir.File("out2"), outside), "leaves the image root");
        BadInput(Start("evaluate", model.Path, "--images", images, "--output", dir.File("out3"), "/dev/zero"), "/dev/zero");
        BadInput(Start("evaluate", model.Path, "--images", images, "--output", dir.File("out4"), evalFile, "--batch-size", "0"), "--batch-size");
    }
}
