using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>Why a row stopped.</summary>
public enum FinishReason
{
    /// <summary>It emitted a stop token (the last id of its <see cref="GeneratedSequence.TokenIds"/>).</summary>
    Stop,
    /// <summary>It reached <see cref="GenerationOptions.MaxNewTokens"/> without a stop token.</summary>
    Length,
}

/// <summary>One token chosen for one row at one step (streamed while generating).</summary>
/// <param name="Row">Batch row.</param>
/// <param name="Step">0 for the first generated token.</param>
/// <param name="TokenId">The token id.</param>
/// <param name="IsStop">True when it is a stop token (the row's last).</param>
public readonly record struct GeneratedToken(int Row, int Step, long TokenId, bool IsStop);

/// <summary>The response of one row.</summary>
/// <param name="TokenIds">Generated ids, up to and including the first stop token; no padding.</param>
/// <param name="FinishReason">Why the row stopped.</param>
public sealed record GeneratedSequence(long[] TokenIds, FinishReason FinishReason);

/// <summary>What <see cref="SequenceGenerator.Generate"/> returns.</summary>
/// <param name="Sequences">One per batch row.</param>
/// <param name="Steps">Tokens generated for the longest row (forward passes = 1 prefill + Steps − 1 decode steps).</param>
/// <param name="PrefillTime">Prompt forward (vision tower included) until the first tokens were on the host.</param>
/// <param name="DecodeTime">All later steps.</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedSequence> Sequences, int Steps, TimeSpan PrefillTime, TimeSpan DecodeTime)
{
    /// <summary>Decode throughput per row: tokens after the first divided by <see cref="DecodeTime"/> (0 when none).</summary>
    public double DecodeTokensPerSecond => Steps > 1 && DecodeTime > TimeSpan.Zero ? (Steps - 1) / DecodeTime.TotalSeconds : 0;

    /// <summary>
    /// The responses as tensors, like HF's generated part of <c>sequences</c> plus verl's response mask: ids
    /// <c>[B, Steps]</c> padded on the right with <paramref name="padTokenId"/>, and a mask <c>[B, Steps]</c> (int64) that is
    /// 1 up to and including each row's first stop token.
    /// </summary>
    public (Tensor Ids, Tensor Mask) ToTensors(long padTokenId, Device? device = null)
    {
        int rows = Sequences.Count, width = Steps;
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        Array.Fill(ids, padTokenId);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < Sequences[r].TokenIds.Length; i++)
            {
                ids[r * width + i] = Sequences[r].TokenIds[i];
                mask[r * width + i] = 1;
            }
        using var idsCpu = tensor(ids, [rows, width], ScalarType.Int64);
        using var maskCpu = tensor(mask, [rows, width], ScalarType.Int64);
        return (idsCpu.to(device ?? CPU, copy: true), maskCpu.to(device ?? CPU, copy: true));
    }
}
