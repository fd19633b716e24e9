using FineR1.Core.Processing;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FineR1.Core.Checkpoints;
using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using FineR1.Core.Native;
using FineR1.Core.Text.Tokenization;
using FineR1.Experiments;
using FineR1.Experiments.Pretraining;
using FineR1.Experiments.Synthetic;
using FineR1.Training.Tapo.Data;
using FineR1.Training.Tapo.Rollout;
using FineR1.Training.Tapo.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Benchmarks;

/// <summary>
/// <c>tapo-learning OUT_DIR [--work DIR] [--steps N] [--precision bf16|fp32] [--quick] [--prepare-only] [--max-seconds S] [--smoke] [--seed N]</c>: does TAPO
/// learn in bf16? The quickstart's pipeline up to CoT SFT (FGVR-Synth world, base pretrained on world knowledge, CoT SFT;
/// both cached under <c>--work</c>/cache, so a staged cache skips them), then <c>--steps</c> TAPO steps of the quickstart's
/// TAPO stage (n 4, 4 groups per step, temperature 0.6, lr 3e-5) on the model in <c>--precision</c> — bf16 with the default
/// optimizer (bf16 AnyPrecisionAdamW states, Kahan-compensated updates) or float32 (= torch.optim.AdamW) — on CUDA when
/// available. Writes <c>OUT_DIR/tapo-learning-{precision}.json</c> (per step: reward and accuracy of every generated
/// rollout, of the kept batch, lr, losses, seconds). <c>tapo-learning-plot OUT.png A.json B.json…</c> draws the curves
/// (docs/training-precision.md).
/// </summary>
public static class TapoLearning
{
    public static void Run(string[] args)
    {
        TorchSharpNativeLoader.EnsureInstalled();
        if (args.Length == 0) throw new ArgumentException("usage: tapo-learning OUT_DIR [--work DIR] [--steps N] [--precision bf16|fp32] [--quick] [--prepare-only]");
        string output = args[0];
        string work = Option(args, "--work") ?? Path.Combine(output, "work");
        int steps = int.Parse(Option(args, "--steps") ?? "100", CultureInfo.InvariantCulture);
        string precision = Option(args, "--precision") ?? "bf16";
        bool quick = args.Contains("--quick"), prepareOnly = args.Contains("--prepare-only");
        double maxSeconds = double.Parse(Option(args, "--max-seconds") ?? "1e9", CultureInfo.InvariantCulture);   // stop early, keep the steps done
        string? seedOption = Option(args, "--seed");   // TAPO's seed (rollout sampling, draws); the CoT SFT start is the same
        var device = cuda.is_available() ? CUDA : CPU;
        var dtype = precision switch
        {
            "bf16" => ScalarType.BFloat16,
            "fp32" => ScalarType.Float32,
            _ => throw new ArgumentException($"--precision must be bf16 or fp32, got '{precision}'."),
        };
        Directory.CreateDirectory(output);
        var clock = Stopwatch.StartNew();

        var options = quick ? ExperimentOptions.Quick(work) : ExperimentOptions.Default(work);
        if (args.Contains("--smoke"))   // a rehearsal of the command: one short epoch of pretraining and of CoT SFT
            options = options with
            {
                Pretraining = options.Pretraining with { FactRepeats = 1, Training = options.Pretraining.Training with { Epochs = 1 } },
                CotSft = options.CotSft with { Epochs = 1 },
            };
        var world = FgvrSynth.Generate(options.World, Path.Combine(work, "world"));
        var pre = options.Pretraining with { Seed = options.Pretraining.Seed + options.Seed };   // as ExperimentRunner
        var processor = new Qwen2VLImageProcessor(pre.Images);
        var grid = processor.PlanResize(world.Options.ImageSize, world.Options.ImageSize).Grid;
        var qwen = QwenTokenizer.Load(TapoStepBenchmarks.TokenizerPath(), QwenTokenizerOptions.Qwen2_5_VL);
        var tokenizer = WorldVocabulary.Build(world, qwen, grid.H, grid.W);
        var pretrained = WorldKnowledgePretraining.LoadOrTrain(world, tokenizer, pre, Path.Combine(work, "cache"));
        using var sft = pretrained.Model;
        var encoder = new LmExampleEncoder(tokenizer, grid.H, grid.W);
        string sftFolder = Path.Combine(pretrained.Folder, "cot-sft");
        if (File.Exists(Path.Combine(sftFolder, "model.safetensors"))) CheckpointLoader.Load(sft, sftFolder);
        else
        {
            torch.manual_seed(options.Seed);
            var cot = ExperimentRunner.DefaultStages(options).Single(s => s.Name == "CoT SFT");
            cot.Train(new StageContext(sft, world, encoder, processor, options.Seed, null), CancellationToken.None);
            CheckpointWriter.Save(sft, sftFolder, new CheckpointSaveOptions { Config = sft.Config });
        }
        Console.WriteLine($"world, base and CoT SFT ready in {clock.Elapsed.TotalSeconds:F1} s (base {(pretrained.FromCache ? "cached" : "trained")}): {pretrained.Folder}");
        if (prepareOnly) return;

        using var model = new Qwen2_5_VLForConditionalGeneration(sft.Config, device, dtype);
        var source = sft.state_dict();
        using (no_grad())
            foreach (var (name, t) in model.state_dict()) t.copy_(source[name]);
        var stage = options.Tapo with { Steps = steps, N = 4, PromptsPerDraw = 4, GroupsPerStep = 4, MaxResponseLength = 128 };
        int tapoSeed = seedOption is null ? options.Seed : int.Parse(seedOption, CultureInfo.InvariantCulture);
        var recipe = TapoStage.Recipe(stage, tapoSeed);
        recipe.Algorithm.MaxDynamicSamplingTries = 20;       // the paper's limit; the quickstart's 4 is for 8 steps
        torch.manual_seed(tapoSeed);
        var rows = new List<Dictionary<string, object?>>();
        string path = Path.Combine(output, seedOption is null ? $"tapo-learning-{precision}.json" : $"tapo-learning-{precision}-seed{tapoSeed}.json");
        void Write() => File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["precision"] = precision, ["seed"] = tapoSeed, ["device"] = device.ToString(), ["gpu"] = device.type == DeviceType.CUDA ? GpuName() : null,
            ["weights"] = dtype.ToString(), ["world"] = quick ? "quick" : "default", ["lr"] = stage.LearningRate, ["n"] = stage.N,
            ["groups_per_step"] = stage.GroupsPerStep, ["temperature"] = stage.Temperature, ["max_response_length"] = stage.MaxResponseLength,
            ["total_seconds"] = clock.Elapsed.TotalSeconds, ["steps"] = rows,
        }, new JsonSerializerOptions { WriteIndented = true }));
        using (var trainer = new TapoTrainer(model, new TapoPromptEncoder(new Qwen2_5_VLProcessor(tokenizer, processor)), SynthTapoSamples.Load(world.Tapo), recipe))
        {
            Console.WriteLine($"TAPO {precision} on {device}: {steps} steps, optimizer states {trainer.Optimizer!.StateDType}, Kahan {trainer.Optimizer!.KahanSummation}, " +
                              $"{trainer.TrainableParameterNames.Count} trainable tensors");
            var run = Stopwatch.StartNew();
            for (int s = 1; s <= steps; s++)
            {
                TapoStepMetrics m;
                try { m = trainer.Step(); }
                catch (InvalidOperationException e)
                {
                    Console.WriteLine($"step {s}: {e.Message} — run stopped");
                    break;
                }
                rows.Add(new()
                {
                    ["step"] = m.Step, ["generated_reward"] = m.GeneratedReward, ["generated_accuracy"] = m.GeneratedAccuracy,
                    ["batch_reward"] = m.Reward, ["learning_rate"] = m.LearningRate, ["pg_loss"] = m.PolicyLoss, ["entropy"] = m.Entropy,
                    ["grad_norm"] = double.IsFinite(m.GradNorm) ? m.GradNorm : null, ["draws"] = m.Draws, ["response_length"] = m.ResponseLengthMean,
                    ["seconds"] = m.RolloutSeconds + m.LogProbSeconds + m.UpdateSeconds,
                });
                if (s % 10 == 0 || s == 1)
                {
                    Console.WriteLine($"step {s,4}: generated reward {m.GeneratedReward:F3}, accuracy {m.GeneratedAccuracy:F3}, {run.Elapsed.TotalSeconds:F0} s");
                    Write();
                }
                if (clock.Elapsed.TotalSeconds > maxSeconds)
                {
                    Console.WriteLine($"step {s}: --max-seconds {maxSeconds} reached — run stopped");
                    break;
                }
            }
        }
        Write();
        Console.WriteLine($"wrote {path} ({clock.Elapsed.TotalSeconds:F0} s)");
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string? GpuName()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=name --format=csv,noheader") { RedirectStandardOutput = true });
            return p?.StandardOutput.ReadToEnd().Trim();
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
