using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// The randomness of one sampling generation call: one categorical draw per row from <c>probs</c>, reproducible from
/// <see cref="GenerationOptions.Seed"/> alone.
/// <list type="bullet">
/// <item>On a CPU: a seeded <c>torch.Generator</c> of its own and <c>torch.multinomial</c>, as HF samples.</item>
/// <item>On CUDA TorchSharp 0.107 can only create CPU generators, and the device's default generator is shared by the
/// whole process (weight initialisation, other generations on other threads, CUDA graph captures). So the noise is
/// computed on the device from a counter instead: a SplitMix64 hash of (seed, step, row, token) turned into an
/// exponential variate <c>q</c>, and the token is <c>argmax(p / q)</c>, the exponential-race identity that
/// <c>torch.multinomial(p, 1)</c> itself uses. Same categorical distribution, no shared state: the same seed gives the
/// same tokens whatever else the process does.</item>
/// </list>
/// </summary>
public sealed class TokenSampler : IDisposable
{
    // SplitMix64 constants (Steele, Lea, Flood 2014) as two's-complement int64: torch has no uint64 arithmetic.
    private const long Golden = unchecked((long)0x9E3779B97F4A7C15UL);
    private const long Mix1 = unchecked((long)0xBF58476D1CE4E5B9UL);
    private const long Mix2 = unchecked((long)0x94D049BB133111EBUL);

    private readonly Generator? _generator;
    private readonly ulong _seed;
    private long _draws;
    private Tensor? _positions;   // see PositionsLike

    private TokenSampler(ulong seed, Generator? generator)
    {
        _seed = seed;
        _generator = generator;
    }

    /// <summary>A generator-backed sampler on a CPU, a counter-based one on any other device.</summary>
    public static TokenSampler Create(ulong seed, Device device) =>
        device.type == DeviceType.CPU ? new TokenSampler(seed, new Generator(seed, device)) : CounterBased(seed);

    /// <summary>The counter-based sampler on any device (CUDA's; CPU tests use it to check it).</summary>
    public static TokenSampler CounterBased(ulong seed) => new(seed, null);

    /// <summary>One token per row of <paramref name="probs"/> <c>[B, V]</c> (rows sum to 1): int64 <c>[B]</c>. Each call
    /// is a new step of the counter.</summary>
    public Tensor Sample(Tensor probs)
    {
        if (_generator is not null) return multinomial(probs, 1, replacement: false, generator: _generator).squeeze(1);
        using var scope = NewDisposeScope();
        long stepKey = unchecked((long)Hash(_seed ^ Hash((ulong)_draws++)));
        var counter = PositionsLike(probs).add(stepKey);                                                      // [B, V]
        var bits = SplitMix64(counter);
        // The top 24 bits as a float32 uniform in (0, 1), then q = -log(u) ~ Exp(1).
        var uniform = ShiftRightLogical(bits, 40).to(ScalarType.Float32).add_(0.5).mul_(1.0 / (1 << 24));
        var exponential = uniform.log_().neg_();
        return probs.to(ScalarType.Float32).div(exponential).argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>0 … B·V − 1 as int64 <c>[B, V]</c> on the device of <paramref name="probs"/>, made once per call (shapes stay
    /// fixed while generating).</summary>
    private Tensor PositionsLike(Tensor probs)
    {
        long rows = probs.shape[0], vocab = probs.shape[1];
        if (_positions is not null && _positions.shape[0] == rows && _positions.shape[1] == vocab
            && _positions.device_type == probs.device_type && _positions.device_index == probs.device_index)
            return _positions;
        _positions?.Dispose();
        _positions = arange(rows * vocab, ScalarType.Int64, probs.device).view(rows, vocab).DetachFromDisposeScope();
        return _positions;
    }

    /// <summary>SplitMix64's finaliser on every element (int64 arithmetic wraps as uint64 would).</summary>
    private static Tensor SplitMix64(Tensor x)
    {
        var z = x.add(Golden);
        z = z.bitwise_xor(ShiftRightLogical(z, 30)).mul_(Mix1);
        z = z.bitwise_xor(ShiftRightLogical(z, 27)).mul_(Mix2);
        return z.bitwise_xor(ShiftRightLogical(z, 31));
    }

    /// <summary><c>x &gt;&gt;&gt; k</c> on int64: torch shifts arithmetically, so the sign bits shifted in are masked off.</summary>
    private static Tensor ShiftRightLogical(Tensor x, int k) => x.bitwise_right_shift(k).bitwise_and((1L << (64 - k)) - 1);

    /// <summary>SplitMix64 on the host (the step key).</summary>
    private static ulong Hash(ulong x)
    {
        unchecked
        {
            ulong z = x + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Frees the CPU generator.</summary>
    public void Dispose()
    {
        _generator?.Dispose();
        _positions?.Dispose();
    }
}
