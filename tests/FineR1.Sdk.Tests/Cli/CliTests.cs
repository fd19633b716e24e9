using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Nodes;
using FineR1.Cli;
using FineR1.Inference.Tests.Classification;
using FineR1.Training.Sft;
using FineR1.Experiments.Synthetic;
using FineR1.Training.Tapo;

namespace FineR1.Sdk.Tests.Cli;

/// <summary>finer1: configs, documentation of every field, exit codes, and the tool run as a process.</summary>
public sealed class CliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The built tool next to its own dependencies (same configuration as this test binary).</summary>
    internal static string ToolDll
    {
        get
        {
            var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;   // bin/<Configuration>/net10.0
            return Path.Combine(TestPaths.RepositoryRoot, "tools", "FineR1.Cli", "bin", configuration, "net10.0", "finer1.dll");
        }
    }

    private static Task<DotnetCli.Result> Finer1(string workingDirectory, params string[] args) =>
        DotnetCli.RunAsync(workingDirectory, "dotnet", [ToolDll, .. args], timeout: TimeSpan.FromMinutes(5));

    [Fact]
    public void Every_config_field_is_documented_in_docs_cli_md()
    {
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "cli.md"));
        var missing = Fields(typeof(SftRunConfig), "").Concat(Fields(typeof(TapoRunConfig), ""))
            .Where(f => !doc.Contains($"`{f}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "undocumented config fields: " + string.Join(", ", missing));
        foreach (var e in new[] { typeof(SftOverlongPolicy), typeof(SftPrecision), typeof(SftLossNormalization), typeof(FineR1.Training.Optimization.OptimizerStatePrecision), typeof(FineR1.Training.Distributed.ZeroStage),
                     typeof(LossAggregation), typeof(KlPenalty), typeof(PositiveRolloutConditioning) })
            foreach (var name in Enum.GetNames(e))
                Assert.Contains($"`{JsonNamingPolicy.SnakeCaseLower.ConvertName(name)}`", doc);
    }

    private static IEnumerable<string> Fields(Type type, string prefix)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = prefix + (p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
            if (p.PropertyType.IsClass && p.PropertyType != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(p.PropertyType))
                foreach (var inner in Fields(p.PropertyType, name + ".")) yield return inner;
            else yield return name;
        }
    }

    [Fact]
    public void Yaml_and_json_configs_bind_the_same_values_and_unknown_fields_are_named()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("a.yaml"), """
            model: /m
            data: 'd.json'
            dtype: bfloat16
            sft:
              checkpointing: { output_dir: out }
              epochs: 2
              learning_rate: 1.0e-5
              train_vision_tower: true
              precision: b_float16
              lora: { enabled: true, target_modules: [q_proj, v_proj] }
            """);
        File.WriteAllText(dir.File("a.json"), """
            { "model": "/m", "data": "d.json", "dtype": "bfloat16",
              // comments are allowed
              "sft": { "checkpointing": { "output_dir": "out" }, "epochs": 2, "learning_rate": 1e-5, "train_vision_tower": true, "precision": "b_float16",
                       "lora": { "enabled": true, "target_modules": ["q_proj", "v_proj"] } } }
            """);
        var yaml = ConfigFile.Load<SftRunConfig>(dir.File("a.yaml"));
        var json = ConfigFile.Load<SftRunConfig>(dir.File("a.json"));
        Assert.Equal(JsonSerializer.Serialize(json, ConfigFile.Options), JsonSerializer.Serialize(yaml, ConfigFile.Options));
        Assert.Equal((2, 1e-5, true, SftPrecision.BFloat16, "bfloat16"), (yaml.Sft.Epochs, yaml.Sft.LearningRate, yaml.Sft.TrainVisionTower, yaml.Sft.Precision, yaml.DType));
        Assert.Equal(["q_proj", "v_proj"], yaml.Sft.Lora.TargetModules);

        File.WriteAllText(dir.File("typo.yaml"), "model: /m\nsft:\n  learning_rat: 1.0e-5\n");
        var e = Assert.Throws<CliInputException>(() => ConfigFile.Load<SftRunConfig>(dir.File("typo.yaml")));
        Assert.Contains("typo.yaml", e.Message);
        Assert.Contains("learning_rat", e.Message);
    }

    [Fact]
    public async Task Exit_codes_are_0_1_2_and_130_with_one_line_errors()
    {
        var error = new StringWriter();
        Assert.Equal(0, await CliErrors.RunAsync(() => Task.FromResult(0), verbose: false, error));
        Assert.Equal(2, await CliErrors.RunAsync(() => throw new FileNotFoundException("image not found: x.png"), verbose: false, error));
        Assert.Equal(1, await CliErrors.RunAsync(() => throw new InvalidOperationException("boom\nsecond line"), verbose: false, error));
        Assert.Equal(130, await CliErrors.RunAsync(() => throw new OperationCanceledException(), verbose: false, error));
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["error: image not found: x.png", "error: InvalidOperationException: boom second line", "(run with --verbose for details)", "interrupted."], lines.Select(l => l.TrimEnd('\r')));
        var verbose = new StringWriter();
        await CliErrors.RunAsync(() => throw new InvalidOperationException("boom"), verbose: true, verbose);
        Assert.Contains("at ", verbose.ToString());   // the stack trace
    }

    [Fact]
    public async Task The_tool_reports_its_version_refuses_bad_usage_and_classifies_with_a_tiny_model()
    {
        using var dir = TestPaths.NewTempDir();
        var version = await Finer1(dir.Path, "--version");
        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith("0.", version.Output.Trim());

        var bad = await Finer1(dir.Path, "classify", "--no-such-option");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("error:", bad.Output);
        Assert.DoesNotContain("   at ", bad.Output);
        var seeds = await Finer1(dir.Path, "quickstart", "--seeds", "0");
        Assert.Equal(2, seeds.ExitCode);
        Assert.Contains("--seeds must be between 1 and 100", seeds.Output);

        var model = SaveTinyModel(dir);
        var missing = await Finer1(dir.Path, "classify", model, "nope.png");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("error: image not found: nope.png", missing.Output);

        var ok = await Finer1(dir.Path, "classify", model, TinyQwen.Image0, "-c", "Painted Bunting,Indigo Bunting", "--confidences", "--max-new-tokens", "4", "--device", "cpu");
        Assert.True(ok.ExitCode == 0, ok.Output);
        Assert.Contains($"== {TinyQwen.Image0}", ok.Output);
        Assert.Contains("Indigo Bunting", ok.Output);
    }

    [Fact]
    public async Task Train_sft_from_a_yaml_config_writes_a_checkpoint_and_a_rerun_resumes_from_it()
    {
        using var dir = TestPaths.NewTempDir();
        var model = SaveTinyModel(dir);
        var world = FgvrSynth.Generate(FgvrSynthOptions.Quick, dir.File("world"));
        var records = JsonNode.Parse(File.ReadAllText(world.Files.CotSftJson))!.AsArray();
        var four = Path.Combine(Path.GetDirectoryName(world.Files.CotSftJson)!, "four.json");
        File.WriteAllText(four, new JsonArray(records.Take(4).Select(r => r!.DeepClone()).ToArray()).ToJsonString());
        File.WriteAllText(dir.File("sft.yaml"), $"""
            model: {model}
            data: {four}
            device: cpu
            sft:
              checkpointing:
                output_dir: {dir.File("run")}
              epochs: 1
              max_length: 200
              micro_batch_size: 2
              gradient_accumulation_steps: 1
              warmup_steps: 0
              image_max_pixels: 50176
            """);

        var first = await Finer1(dir.Path, "train", "sft", "sft.yaml");
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("checkpoint-2", first.Output);
        Assert.Equal(["checkpoint-2"], Directory.GetDirectories(dir.File("run"), "checkpoint-*").Select(Path.GetFileName));

        var again = await Finer1(dir.Path, "train", "sft", "sft.yaml", "--verbose");
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.Contains("resumed from", again.Output);
    }

    [Fact]
    public async Task Ctrl_C_stops_the_quickstart_with_exit_code_130_and_one_line()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGINT is sent with POSIX kill");
        using var dir = TestPaths.NewTempDir();
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        foreach (var a in new[] { ToolDll, "quickstart", "--quick", "-o", dir.File("out") }) psi.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        var started = new TaskCompletionSource();
        void Collect(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            if (line.Contains("FineR1 quickstart", StringComparison.Ordinal)) started.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await started.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct);
        Assert.Equal(0, Kill(process.Id, 2));   // SIGINT, what Ctrl+C sends
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromMinutes(3), Ct);   // stops at the next step
        lock (output)
        {
            Assert.True(process.ExitCode == 130, output.ToString());
            Assert.Contains("interrupted.", output.ToString());
            Assert.DoesNotContain("   at ", output.ToString());
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static string SaveTinyModel(TempDir dir)
    {
        using var tiny = new TinyQwen();
        return tiny.SaveFolder(dir.File("model"));
    }
}
