using FineR1.Core.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Generation;

/// <summary>
/// A stand-in model: <c>logitsFor(row, step)</c> gives each row's logits at step s (0 = prefill). Records what the loop
/// fed it (a host read that the real loop must not need, so it can be switched off).
/// </summary>
internal sealed class FakeGenerationModel(long vocabSize, Func<int, int, float[]> logitsFor, bool record = true) : IGenerationModel
{
    /// <summary>Row r puts a logit of 10 on script[r][s] (on <paramref name="fallback"/> once the script has run out).</summary>
    public static FakeGenerationModel Scripted(long vocabSize, long[][] script, long fallback = 1) =>
        new(vocabSize, (r, s) =>
        {
            var row = new float[vocabSize];
            row[s < script[r].Length ? script[r][s] : fallback] = 10f;
            return row;
        });

    /// <summary>All logits 0 (a uniform distribution), for sampling tests.</summary>
    public static FakeGenerationModel Uniform(long vocabSize) => new(vocabSize, (_, _) => new float[vocabSize], record: false);

    public bool Records => record;
    public Device Device => CPU;
    public long VocabSize => vocabSize;
    public int Prefills { get; private set; }
    public List<long[]> FedTokens { get; } = [];
    public int? LastMaxNewTokens { get; private set; }
    public GenerationInputs? LastInputs { get; private set; }
    public int SessionsDisposed { get; private set; }

    public IGenerationSession Start(GenerationInputs inputs, int maxNewTokens)
    {
        LastMaxNewTokens = maxNewTokens;
        LastInputs = inputs;
        return new Session(this, inputs.BatchSize);
    }

    private Tensor Logits(int rows, int step)
    {
        var values = new float[rows * vocabSize];
        for (int r = 0; r < rows; r++) logitsFor(r, step).CopyTo(values, r * vocabSize);
        return tensor(values, [rows, vocabSize]);
    }

    private sealed class Session(FakeGenerationModel owner, int rows) : IGenerationSession
    {
        private int _step;

        public Tensor Prefill()
        {
            Assert.Equal(0, _step);
            owner.Prefills++;
            _step = 1;
            return owner.Logits(rows, 0);
        }

        public Tensor Step(Tensor tokens)
        {
            Assert.True(_step > 0, "Step before Prefill");
            Assert.Equal([rows], tokens.shape);
            Assert.Equal(ScalarType.Int64, tokens.dtype);
            if (owner.Records) owner.FedTokens.Add(tokens.data<long>().ToArray());
            return owner.Logits(rows, _step++);
        }

        public void Dispose() => owner.SessionsDisposed++;
    }
}
