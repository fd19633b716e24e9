using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// Batched autoregressive generation with HF <c>generate</c> semantics: one prefill over the left-padded prompts, then one
/// token per row per step through the model's KV cache. A row that emits a stop token is finished: later steps write
/// <see cref="GenerationOptions.PadTokenId"/> for it (and feed that pad to the model, as HF does), and the loop ends when
/// every row is finished or <see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.
/// </summary>
/// <remarks>
/// Per step the only device→host transfer is the <c>[B]</c> chosen token ids (needed for stop checks and streaming);
/// the finished-row bookkeeping, token history and sampling stay on the device. Every step runs in its own
/// <c>NewDisposeScope</c>, and the per-batch device state (current tokens, unfinished flags, history, generator) is
/// allocated once, so native memory does not grow with the number of steps.
/// </remarks>
public static class SequenceGenerator
{
    /// <summary>Generates a response for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">The model (see <see cref="IGenerationModel"/>).</param>
    /// <param name="inputs">Left-padded prompts (see <see cref="GenerationInputs.LeftPad"/>); may live on any device.</param>
    /// <param name="options">Decoding switches.</param>
    /// <param name="onToken">Called on the generating thread after every step with each still-running row's new token.</param>
    /// <param name="cancellationToken">Checked before every step; cancellation throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException">Options that do not fit the model's vocabulary.</exception>
    public static GenerationResult Generate(IGenerationModel model, GenerationInputs inputs, GenerationOptions options,
        Action<GeneratedToken>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidateFor(model.VocabSize);
        cancellationToken.ThrowIfCancellationRequested();

        int rows = inputs.BatchSize, promptLength = inputs.PromptLength, maxNew = options.MaxNewTokens;
        var device = model.Device;
        var stopSet = options.StopTokenIds.ToHashSet();
        var responses = new List<long>[rows];
        var reasons = new FinishReason[rows];
        var finished = new bool[rows];
        for (int r = 0; r < rows; r++) { responses[r] = []; reasons[r] = FinishReason.Length; }
        int running = rows, steps = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan prefillTime = TimeSpan.Zero;

        // Device state allocated once for the whole batch, disposed with this scope.
        using var batchScope = NewDisposeScope();
        var current = zeros(rows, ScalarType.Int64, device);                    // [B] token fed to the next step
        var unfinished = ones(rows, ScalarType.Int64, device);                  // [B] 1 while the row runs
        var stopIds = options.StopTokenIds.Count > 0 ? tensor(options.StopTokenIds.ToArray(), ScalarType.Int64, device) : null; // [S]
        var bannedIds = options.BannedTokenIds.Count > 0 ? tensor(options.BannedTokenIds.ToArray(), ScalarType.Int64, device) : null;
        Tensor? history = null;                                                  // [B, T + N] prompt then generated ids
        if (options.RepetitionPenalty != 1.0)
        {
            history = full(rows, promptLength + maxNew, options.PadTokenId, ScalarType.Int64, device);
            history.narrow(1, 0, promptLength).copy_(inputs.InputIds);
        }
        using var sampler = options.DoSample ? TokenSampler.Create(options.Seed, device) : null;
        using var session = model.Start(inputs, maxNew);

        for (int step = 0; step < maxNew && running > 0; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long[] chosen;
            using (var stepScope = NewDisposeScope())
            {
                var logits = step == 0 ? session.Prefill() : session.Step(current); // [B, vocab]
                var scores = LogitsProcessors.Process(logits, options, history?.narrow(1, 0, promptLength + step), bannedIds);
                var next = LogitsProcessors.SelectTokens(scores, options.DoSample, sampler);   // [B]
                // HF: next_tokens * unfinished + pad_token_id * (1 - unfinished)
                next = next * unfinished + (1 - unfinished) * options.PadTokenId;
                if (stopIds is not null)
                    unfinished.mul_(next.unsqueeze(1).eq(stopIds).any(1).logical_not().to(ScalarType.Int64));
                current.copy_(next);
                history?.select(1, promptLength + step).copy_(next);
                chosen = next.cpu().data<long>().ToArray();                      // the step's only device→host sync
            }
            if (step == 0) prefillTime = clock.Elapsed;
            steps = step + 1;
            for (int r = 0; r < rows; r++)
            {
                if (finished[r]) continue;
                long id = chosen[r];
                responses[r].Add(id);
                bool isStop = stopSet.Contains(id);
                if (isStop) { finished[r] = true; reasons[r] = FinishReason.Stop; running--; }
                onToken?.Invoke(new GeneratedToken(r, step, id, isStop));
            }
        }
        var total = clock.Elapsed;
        var sequences = new GeneratedSequence[rows];
        for (int r = 0; r < rows; r++) sequences[r] = new GeneratedSequence([.. responses[r]], reasons[r]);
        return new GenerationResult(sequences, steps, prefillTime, total - prefillTime);
    }

    /// <summary>
    /// Runs <see cref="Generate"/> on a worker thread and yields each token as soon as its step is done. Ending the
    /// enumeration early, or cancelling, stops generation before its next step.
    /// </summary>
    public static async IAsyncEnumerable<GeneratedToken> StreamAsync(IGenerationModel model, GenerationInputs inputs,
        GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var worker = Task.Run(() =>
        {
            try
            {
                Generate(model, inputs, options, token => channel.Writer.TryWrite(token), stop.Token);
                channel.Writer.TryComplete();
            }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        }, CancellationToken.None);
        try
        {
            await foreach (var token in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return token;
        }
        finally
        {
            stop.Cancel();
            await worker.ConfigureAwait(false);
        }
    }
}
