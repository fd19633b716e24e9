using FineR1.Core.Imaging;
using FineR1.Core.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Training.Tapo.Trainer;

/// <summary>One row of a log-prob pass: the prompt (anchor ids), the image to condition on, and its grid.</summary>
/// <param name="PromptIds">Prompt token ids (image pads for <paramref name="Grid"/>).</param>
/// <param name="Pixels">Pixel values <c>[t·h·w, 1176]</c> of the conditioning image.</param>
/// <param name="Grid">Its patch grid (t, h, w).</param>
public sealed record LogProbRow(long[] PromptIds, Tensor Pixels, VisionGrid Grid);

/// <summary>
/// <c>log π(o_t | q, image, o_&lt;t)</c> of given responses (reference <c>dp_actor._forward_micro_batch</c>): the
/// sequence is the left-padded prompt followed by the right-padded response, attention mask = prompt mask ‖ response
/// mask, positions derived by the model from ids, grids and that mask over the whole sequence (for Qwen2.5-VL the M-RoPE
/// positions of <see cref="RopeIndex"/>: response positions continue +1 per token on all three axes), logits of the
/// response positions only, divided by the temperature and log-softmaxed in float32.
/// </summary>
public static class TapoLogProbs
{
    /// <summary>Log-probs <c>[rows, T]</c> (float32, on the model's device) of <paramref name="responseIds"/>.</summary>
    /// <param name="model">The policy; gradient flows when grad mode is on.</param>
    /// <param name="rows">Prompt and image of each row.</param>
    /// <param name="responseIds"><c>[rows, T]</c> int64 responses, right-padded.</param>
    /// <param name="responseMask"><c>[rows, T]</c>, 1 on response tokens up to and including the stop token.</param>
    /// <param name="temperature">Logits are divided by it (rollout temperature, 1.0).</param>
    /// <param name="padTokenId">Left-padding id of prompts.</param>
    /// <example>prompt [a, b] and response [c, d]: logits at positions of b and c give log p(c) and log p(d).</example>
    public static Tensor Compute(IVisionLanguageModel model, IReadOnlyList<LogProbRow> rows, Tensor responseIds,
        Tensor responseMask, double temperature, long padTokenId)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        if (responseIds.dim() != 2 || responseIds.shape[0] != rows.Count || !responseMask.shape.SequenceEqual(responseIds.shape))
            throw new ArgumentException($"responses must be [{rows.Count}, T] with a mask of the same shape; got [{string.Join(", ", responseIds.shape)}] and [{string.Join(", ", responseMask.shape)}].");
        using var scope = NewDisposeScope();
        int m = rows.Count, promptLength = rows.Max(r => r.PromptIds.Length);
        long t = responseIds.shape[1];
        var ids = new long[m * promptLength];
        var mask = new long[m * promptLength];
        for (int r = 0; r < m; r++)
        {
            var p = rows[r].PromptIds;
            int offset = promptLength - p.Length;
            for (int i = 0; i < promptLength; i++)
            {
                ids[r * promptLength + i] = i < offset ? padTokenId : p[i - offset];
                mask[r * promptLength + i] = i < offset ? 0 : 1;
            }
        }
        var fullIds = cat([tensor(ids, [m, promptLength], ScalarType.Int64), responseIds.to(ScalarType.Int64, CPU)], 1);   // [m, L + T]
        var fullMask = cat([tensor(mask, [m, promptLength], ScalarType.Int64), responseMask.to(ScalarType.Int64, CPU)], 1);
        var grid = VisionGrid.ToTensor(rows.Select(r => r.Grid).ToArray());

        var device = model.Device;
        var pixels = cat(rows.Select(r => r.Pixels).ToList(), 0).to(device);
        var output = model.Forward(new VisionLanguageInputs(fullIds.to(device), fullMask.to(device), pixels, grid.to(device),
            LogitsToKeep: t + 1));
        var logits = output.Logits.narrow(1, 0, t).to_type(ScalarType.Float32);                                     // [m, T, vocab]
        if (temperature != 1.0) logits = logits / temperature;
        var target = responseIds.to(ScalarType.Int64, device).unsqueeze(-1);                                           // [m, T, 1]
        var logp = logits.gather(-1, target).squeeze(-1) - logits.logsumexp(-1);                                       // [m, T]
        return logp.MoveToOuterDisposeScope();
    }
}
