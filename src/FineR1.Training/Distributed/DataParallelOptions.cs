namespace FineR1.Training.Distributed;

/// <summary>How a data-parallel run keeps its optimizer (see docs/distributed.md).</summary>
public enum ZeroStage
{
    /// <summary>Classic data parallelism (PyTorch DDP): gradients all-reduced, every rank steps a whole replica of the
    /// optimizer. One process: the plain optimizer.</summary>
    None = 0,

    /// <summary>ZeRO stage 2 (<see cref="Zero.ZeroRedundancyOptimizer"/>): gradients reduce-scattered into per-rank shards,
    /// AdamW states sharded, parameters all-gathered after the step; every rank saves its optimizer shard.</summary>
    Two = 2,
}

/// <summary>
/// Data-parallel settings shared by SFT (<c>SftOptions.DataParallel</c>) and TAPO (<c>TapoOptions.DataParallel</c>). The
/// ranks themselves come from the trainer's gradient synchronizer (its communicator); without one the run is a single
/// process and <see cref="ZeroStage.Two"/> shards over a world of one (the same step as <see cref="ZeroStage.None"/>).
/// </summary>
public sealed record DataParallelOptions
{
    /// <summary>Optimizer partitioning across ranks (default <see cref="ZeroStage.None"/>).</summary>
    public ZeroStage ZeroStage { get; set; } = ZeroStage.None;
}

/// <summary>Checks of <see cref="DataParallelOptions"/>, shared by the SFT and TAPO validators.</summary>
internal static class DataParallelOptionsValidation
{
    /// <summary>The failures of <paramref name="options"/>, each prefixed with <c>DataParallel.</c>; a null record is itself a failure.</summary>
    public static IEnumerable<string> FailuresOf(DataParallelOptions? options) =>
        options is null ? ["DataParallel must not be null."]
        : !Enum.IsDefined(options.ZeroStage) ? [$"DataParallel.ZeroStage {options.ZeroStage} is not defined (None or Two)."]
        : [];
}
