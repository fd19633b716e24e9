using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FineR1.Core.Checkpoints;
using FineR1.Core.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Checkpointing;

/// <summary>What one training checkpoint holds.</summary>
/// <param name="Model">The model; all its weights are written in HF layout (<see cref="CheckpointWriter"/>).</param>
/// <param name="Config">Written as <c>config.json</c> so transformers' <c>from_pretrained</c> loads the folder.</param>
/// <param name="OptimizerState">Optimizer tensors (see <see cref="OptimizerStates"/>), written to <c>optimizer.safetensors</c>.</param>
/// <param name="State">Step, data position, RNG, log history.</param>
/// <param name="WeightsDType">Store floating weights in this dtype; null keeps each tensor's dtype (exact resume).</param>
/// <param name="CopyFilesFrom">A base-model folder whose tokenizer / processor / generation files are copied in
/// (<see cref="TrainingCheckpoints.CopiedFileNames"/>), so the checkpoint is a complete HF model folder.</param>
/// <param name="MoveFilesIn">Files written beforehand (e.g. every data-parallel rank's optimizer shard) that are moved into
/// the checkpoint before it is renamed into place, so they appear atomically with it.</param>
public sealed record TrainingCheckpointContent(
    nn.Module Model, IPretrainedConfig? Config, IReadOnlyList<KeyValuePair<string, Tensor>> OptimizerState, TrainerState State,
    ScalarType? WeightsDType = null, string? CopyFilesFrom = null, IReadOnlyList<string>? MoveFilesIn = null);

/// <summary>
/// Training checkpoints under an output folder: <c>checkpoint-{step}/</c> with the model in HF layout
/// (<c>config.json</c>, <c>model*.safetensors</c>, tokenizer files), <c>optimizer.safetensors</c> and
/// <c>trainer_state.json</c>. A checkpoint is written into a hidden temporary folder and renamed into place, so a crash
/// never leaves a partial <c>checkpoint-*</c> folder; only the newest <c>keepLast</c> are kept. Trainer-independent.
/// Saving a step that already has a checkpoint never leaves a moment without one: the old folder is renamed aside
/// (<c>.checkpoint-N.old</c>), the new one renamed in, then the old one deleted; <see cref="List"/> puts an aside copy
/// back when a crash came between the two renames, and removes temporary folders of interrupted saves. One process
/// writes an output folder at a time.
/// </summary>
/// <example><code>
/// var folder = TrainingCheckpoints.Save("runs/sft", content, keepLast: 2);   // runs/sft/checkpoint-12
/// var latest = TrainingCheckpoints.FindLatest("runs/sft");                   // null when there is none
/// </code></example>
public static partial class TrainingCheckpoints
{
    /// <summary>The trainer state file.</summary>
    public const string StateFileName = "trainer_state.json";

    /// <summary>The optimizer state file.</summary>
    public const string OptimizerFileName = "optimizer.safetensors";

    /// <summary>Prefix of checkpoint folders (HF Trainer's).</summary>
    public const string FolderPrefix = "checkpoint-";

    /// <summary>Files copied from <see cref="TrainingCheckpointContent.CopyFilesFrom"/> when present.</summary>
    public static IReadOnlyList<string> CopiedFileNames { get; } =
    [
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json",
        "chat_template.json", "chat_template.jinja", "preprocessor_config.json", "video_preprocessor_config.json",
        "generation_config.json",
    ];

    [GeneratedRegex(@"^checkpoint-(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex FolderName();

    /// <summary>Writes <c>checkpoint-{State.GlobalStep}</c> atomically, then deletes all but the newest
    /// <paramref name="keepLast"/> checkpoints (0 = keep all). Returns the folder.</summary>
    public static string Save(string outputFolder, TrainingCheckpointContent content, int keepLast = 0)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(keepLast);
        Directory.CreateDirectory(outputFolder);
        Recover(outputFolder);
        var final = Path.Combine(outputFolder, FolderPrefix + content.State.GlobalStep.ToString(CultureInfo.InvariantCulture));
        var temporary = Path.Combine(outputFolder, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.tmp");
        try
        {
            CheckpointWriter.Save(content.Model, temporary, new CheckpointSaveOptions { Config = content.Config, DType = content.WeightsDType });
            SafetensorsWriter.Write(Path.Combine(temporary, OptimizerFileName), content.OptimizerState);
            if (content.CopyFilesFrom is { } source)
                foreach (var name in CopiedFileNames)
                {
                    var from = Path.Combine(source, name);
                    if (File.Exists(from)) File.Copy(from, Path.Combine(temporary, name));
                }
            foreach (var file in content.MoveFilesIn ?? [])
                File.Move(file, Path.Combine(temporary, Path.GetFileName(file)));
            WriteDurably(Path.Combine(temporary, StateFileName), content.State.ToJson());
            ReplaceFolder(temporary, final);
        }
        catch
        {
            try { if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true); } catch (IOException) { }
            throw;
        }
        if (keepLast > 0)
            foreach (var old in List(outputFolder).SkipLast(keepLast)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>
    /// Moves <paramref name="temporary"/> to <paramref name="final"/>. An existing <paramref name="final"/> is renamed
    /// aside first and deleted last, so at every moment one complete copy exists under a name <see cref="Recover"/> knows.
    /// </summary>
    private static void ReplaceFolder(string temporary, string final)
    {
        if (!Directory.Exists(final))
        {
            Directory.Move(temporary, final);
            return;
        }
        var aside = AsideName(final);
        if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);   // a leftover whose final copy exists
        Directory.Move(final, aside);
        Directory.Move(temporary, final);
        Directory.Delete(aside, recursive: true);
    }

    private static string AsideName(string final) => Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.old");

    [GeneratedRegex(@"^\.(checkpoint-\d+)\.(old|[0-9a-f]{32}\.tmp)$", RegexOptions.CultureInvariant)]
    private static partial Regex HiddenFolderName();

    /// <summary>
    /// Repairs what an interrupted save left: an aside copy (<c>.checkpoint-N.old</c>) whose checkpoint is missing is
    /// renamed back (the crash came between the two renames), one whose checkpoint exists is deleted, and temporary
    /// folders (<c>.checkpoint-N.*.tmp</c>) are deleted.
    /// </summary>
    private static void Recover(string outputFolder)
    {
        foreach (var folder in Directory.GetDirectories(outputFolder))
        {
            var match = HiddenFolderName().Match(Path.GetFileName(folder));
            if (!match.Success) continue;
            var final = Path.Combine(outputFolder, match.Groups[1].Value);
            if (match.Groups[2].Value == "old" && !Directory.Exists(final)) Directory.Move(folder, final);
            else Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Complete checkpoint folders (those with a trainer state) under <paramref name="outputFolder"/>, oldest step first,
    /// after repairing what an interrupted save left (see the class remarks).
    /// </summary>
    public static IReadOnlyList<string> List(string outputFolder)
    {
        if (!Directory.Exists(outputFolder)) return [];
        Recover(outputFolder);
        return Directory.GetDirectories(outputFolder)
            .Select(d => (Folder: d, Match: FolderName().Match(Path.GetFileName(d))))
            .Where(x => x.Match.Success && File.Exists(Path.Combine(x.Folder, StateFileName)))
            .OrderBy(x => long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture))
            .Select(x => x.Folder)
            .ToList();
    }

    /// <summary>The newest complete checkpoint, or null.</summary>
    public static string? FindLatest(string outputFolder) => List(outputFolder).LastOrDefault();

    /// <summary>Reads <c>trainer_state.json</c> of a checkpoint folder.</summary>
    /// <exception cref="TrainingCheckpointException">The folder or file is missing or invalid.</exception>
    public static TrainerState ReadState(string checkpointFolder)
    {
        var path = Path.Combine(checkpointFolder, StateFileName);
        if (!File.Exists(path)) throw new TrainingCheckpointException($"no {StateFileName} (not a complete training checkpoint).", checkpointFolder);
        return TrainerState.Parse(File.ReadAllText(path), path);
    }

    /// <summary>Opens <c>optimizer.safetensors</c> of a checkpoint folder.</summary>
    /// <exception cref="TrainingCheckpointException">The file is missing.</exception>
    public static SafetensorsFile OpenOptimizerState(string checkpointFolder)
    {
        var path = Path.Combine(checkpointFolder, OptimizerFileName);
        if (!File.Exists(path)) throw new TrainingCheckpointException($"no {OptimizerFileName}.", checkpointFolder);
        return SafetensorsFile.Open(path);
    }

    /// <summary>torch's CPU generator state as base64 (for <see cref="TrainerState.TorchRngState"/>).</summary>
    public static string CaptureTorchRng()
    {
        using var state = torch.random.get_rng_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    /// <summary>Restores what <see cref="CaptureTorchRng"/> returned.</summary>
    public static void RestoreTorchRng(string base64)
    {
        using var state = torch.tensor(Convert.FromBase64String(base64), ScalarType.Byte);
        torch.random.set_rng_state(state);
    }

    private static void WriteDurably(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        stream.Write(new UTF8Encoding(false).GetBytes(text));
        stream.Flush(flushToDisk: true);
    }
}
