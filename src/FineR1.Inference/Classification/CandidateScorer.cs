using FineR1.Core.Imaging;
using FineR1.Core.Generation;
using FineR1.Core.Modeling;
using FineR1.Core.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Inference.Classification;

/// <summary>
/// Scores each candidate as the continuation of a response prefix that ends with <c>&lt;answer</c>: the log-likelihood
/// of <c>"&gt;" + candidate + "&lt;/answer&gt;"</c> given prompt, image and reasoning, from batched forwards of at
/// most <see cref="DefaultRowsPerForward"/> rows (one row per candidate, the vision tower run once). Tokens shared by every candidate's tokenization are left out;
/// they have the same probability in every row, so the softmax over candidates does not change.
/// </summary>
internal static class CandidateScorer
{
    /// <summary>The response up to <c>&lt;answer</c> (without its <c>&gt;</c>), closing the reasoning if the model did not.</summary>
    /// <example><c>"&lt;think&gt;x&lt;/think&gt; &lt;answer&gt;A&lt;/answer&gt;"</c> → <c>"&lt;think&gt;x&lt;/think&gt; &lt;answer"</c>;
    /// <c>"&lt;think&gt;x"</c> (cut off) → <c>"&lt;think&gt;x&lt;/think&gt;\n\n&lt;answer"</c>.</example>
    public static string AnswerPrefix(string response)
    {
        int answer = response.IndexOf("<answer>", StringComparison.Ordinal);
        if (answer >= 0) return response[..(answer + "<answer".Length)];
        int thinkEnd = response.IndexOf("</think>", StringComparison.Ordinal);
        var reasoning = thinkEnd >= 0 ? response[..(thinkEnd + "</think>".Length)] : response + "</think>";
        return reasoning + "\n\n<answer";
    }

    /// <summary>
    /// Log-likelihood of each candidate after <paramref name="answerPrefix"/>, <paramref name="rowsPerForward"/>
    /// candidates per forward, so memory stays bounded whatever the number of candidates (a CUB-200 closed set of 200
    /// names is 13 forwards of 16 rows). Chunking does not change the scores beyond float rounding: each row is
    /// scored on its own; only the left padding differs.
    /// </summary>
    public static double[] LogLikelihoods(FineR1Model bundle, VisionPrompt prompt, string answerPrefix, IReadOnlyList<string> candidates,
        int rowsPerForward = DefaultRowsPerForward)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerForward, 1);
        // The reasoning and the candidates are text: special-token strings in them are not control tokens.
        var full = candidates.Select(c => bundle.Tokenizer.Encode(answerPrefix + ">" + c + "</answer>", splitSpecialTokens: true)).ToArray();
        int shared = SharedPrefixLength(full);
        var continuations = full.Select(ids => ids[shared..]).ToArray();       // ≥ 1 token each: candidates are distinct
        var context = prompt.Prompt.TokenIds.Concat(full[0][..shared].Select(i => (long)i)).ToArray();

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var image = prompt.Prompt.Images[0];
        var grid = VisionGrid.ToTensor([image.Grid]);
        IVisionLanguageModel model = bundle.Model;
        var embeds = model.GetImageFeatures(image.PixelValues.to(bundle.DType, bundle.Device), grid.to(bundle.Device)); // [tokens, hidden], once per image
        var scores = new double[candidates.Count];
        for (int first = 0; first < candidates.Count; first += rowsPerForward)
        {
            var chunk = continuations[first..Math.Min(first + rowsPerForward, candidates.Count)];
            ScoreChunk(model, bundle.Device, context, chunk, grid, embeds).CopyTo(scores, first);
        }
        return scores;
    }

    /// <summary>Candidates scored per forward by default: 16 rows of 151,936 float logits per kept position.</summary>
    public const int DefaultRowsPerForward = 16;

    private static double[] ScoreChunk(IVisionLanguageModel model, Device device, long[] context, int[][] continuations, Tensor grid, Tensor embeds)
    {
        using var scope = NewDisposeScope();
        int rows = continuations.Length;
        int keep = continuations.Max(c => c.Length) + 1;
        var sequences = continuations.Select(c => new GenerationPrompt(context.Concat(c.Select(i => (long)i)).ToArray())).ToList();
        using var inputs = GenerationInputs.LeftPad(sequences, GenerationOptions.QwenEndOfTextTokenId, device);
        var grids = grid.repeat(rows, 1);                                                    // [rows, 3]
        // The model derives each row's positions from its left padding, as HF does when position_ids is None.
        var output = model.Forward(new VisionLanguageInputs(inputs.InputIds, inputs.AttentionMask, ImageGridThw: grids.to(device),
            LogitsToKeep: keep, ImageFeatures: embeds.repeat(rows, 1)));
        var logits = output.Logits.to(ScalarType.Float32);                                  // [rows, keep, vocab]

        // Row i's continuation fills its last L_i positions; the token at local position j is predicted by local j − 1.
        var targets = new long[rows * keep];
        var mask = new float[rows * keep];
        for (int r = 0; r < rows; r++)
        {
            int length = continuations[r].Length;
            for (int k = 0; k < length; k++)
            {
                int local = keep - 1 - length + k;       // logits position predicting continuation token k
                targets[r * keep + local] = continuations[r][k];
                mask[r * keep + local] = 1;
            }
        }
        // log p(target) = logit(target) − logsumexp(logits), without a second [rows, keep, vocab] tensor.
        var picked = logits.gather(2, tensor(targets, [rows, keep], ScalarType.Int64, device).unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);
        var sums = (picked * tensor(mask, [rows, keep], ScalarType.Float32, device)).sum(1).to(ScalarType.Float64).cpu();
        return sums.data<double>().ToArray();
    }

    /// <summary>Softmax of log-likelihoods, computed stably in double.</summary>
    public static double[] Softmax(IReadOnlyList<double> logLikelihoods)
    {
        double max = logLikelihoods.Max();
        var exp = logLikelihoods.Select(l => Math.Exp(l - max)).ToArray();
        double sum = exp.Sum();
        return exp.Select(e => e / sum).ToArray();
    }

    private static int SharedPrefixLength(int[][] sequences)
    {
        int n = sequences.Min(s => s.Length) - 1;   // keep at least one token per continuation
        int i = 0;
        while (i < n && sequences.All(s => s[i] == sequences[0][i])) i++;
        return i;
    }
}
