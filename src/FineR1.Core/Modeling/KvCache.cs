using FineR1.Core.Configuration;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling;

/// <summary>
/// Preallocated key/value cache of the text decoder: per layer one key and one value tensor
/// <c>[B, kv_heads, max_length, head_dim]</c>, allocated once. Each forward writes its new keys/values in place at
/// <see cref="Length"/> and attends over the first <c>Length + T</c> slots; no tensor grows or is concatenated.
/// </summary>
/// <remarks>
/// <para>All rows share one length (left padding keeps them aligned); padded slots are excluded by the attention
/// mask the caller passes, not by the cache.</para>
/// <para>Typical use: <c>var cache = KvCache.Create(config.Text, batch, promptLength + maxNewTokens, dtype, device)</c>,
/// a prefill forward with the whole prompt, then one forward per generated token. The decoder advances
/// <see cref="Length"/> at the end of each forward. <see cref="Length"/> is a host-side counter: reading it never
/// synchronises with the GPU.</para>
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;    // per layer [B, kv_heads, max_length, head_dim]
    private readonly Tensor[] _values;  // per layer [B, kv_heads, max_length, head_dim]
    private bool _disposed;

    /// <summary>Number of decoder layers the cache holds.</summary>
    public int NumLayers { get; }
    /// <summary>Rows (batch size).</summary>
    public long BatchSize { get; }
    /// <summary>Slots per row: the longest sequence (prompt + generated tokens) the cache can hold.</summary>
    public long MaxLength { get; }
    /// <summary>Tokens already stored per row (padding included); the next forward writes at this offset.</summary>
    public long Length { get; private set; }
    /// <summary>dtype of the stored keys and values.</summary>
    public ScalarType DType { get; }
    /// <summary>Device of the stored keys and values.</summary>
    public Device Device { get; }

    /// <summary>Allocates the cache (zero-filled).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public KvCache(int numLayers, long batchSize, long numKeyValueHeads, long maxLength, long headDim,
        ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numKeyValueHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        NumLayers = numLayers;
        BatchSize = batchSize;
        MaxLength = maxLength;
        DType = dtype;
        Device = device ?? CPU;
        _keys = new Tensor[numLayers];
        _values = new Tensor[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            // Detached from any dispose scope of the caller: the cache lives until it is disposed.
            _keys[i] = zeros([batchSize, numKeyValueHeads, maxLength, headDim], dtype, Device).DetachFromDisposeScope();
            _values[i] = zeros([batchSize, numKeyValueHeads, maxLength, headDim], dtype, Device).DetachFromDisposeScope();
        }
    }

    /// <summary>Allocates a cache shaped for the decoder described by <paramref name="config"/>.</summary>
    public static KvCache Create(Qwen2_5_VLTextConfig config, long batchSize, long maxLength,
        ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        new(config.NumHiddenLayers, batchSize, config.NumKeyValueHeads, maxLength, config.HeadDim, dtype, device);

    /// <summary>
    /// Writes the keys and values of <paramref name="layer"/> for the current step (<c>[B, kv_heads, T, head_dim]</c>)
    /// at slots <c>[Length, Length + T)</c> and returns views of slots <c>[0, Length + T)</c>.
    /// Does not advance <see cref="Length"/> (the decoder calls <see cref="Advance"/> once all layers are written).
    /// </summary>
    /// <exception cref="InvalidOperationException">The step does not fit in <see cref="MaxLength"/>, or the shapes differ from the cache.</exception>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor keys, Tensor values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var k = _keys[layer];
        long steps = keys.shape[2];
        if (keys.ndim != 4 || keys.shape[0] != k.shape[0] || keys.shape[1] != k.shape[1] || keys.shape[3] != k.shape[3])
            throw new InvalidOperationException(
                $"KvCache: keys of shape [{string.Join(", ", keys.shape)}] do not fit a cache of shape [{string.Join(", ", k.shape)}].");
        if (Length + steps > MaxLength)
            throw new InvalidOperationException(
                $"KvCache: {Length} cached + {steps} new tokens exceed the preallocated length {MaxLength}.");
        using (var keySlot = k.narrow(2, Length, steps)) keySlot.copy_(keys);
        using (var valueSlot = _values[layer].narrow(2, Length, steps)) valueSlot.copy_(values);
        return (k.narrow(2, 0, Length + steps), _values[layer].narrow(2, 0, Length + steps));
    }

    /// <summary>Marks <paramref name="tokens"/> more slots as filled (called by the decoder after each forward).</summary>
    /// <exception cref="InvalidOperationException">The new length would exceed <see cref="MaxLength"/>.</exception>
    public void Advance(long tokens)
    {
        if (tokens < 0 || Length + tokens > MaxLength)
            throw new InvalidOperationException($"KvCache: cannot advance {Length} by {tokens} (capacity {MaxLength}).");
        Length += tokens;
    }

    /// <summary>Forgets everything cached (keeps the memory for the next sequence).</summary>
    public void Reset() => Length = 0;

    /// <summary>Cached keys of <paramref name="layer"/>: a view <c>[B, kv_heads, Length, head_dim]</c>.</summary>
    public Tensor Keys(int layer) => _keys[layer].narrow(2, 0, Length);

    /// <summary>Cached values of <paramref name="layer"/>: a view <c>[B, kv_heads, Length, head_dim]</c>.</summary>
    public Tensor Values(int layer) => _values[layer].narrow(2, 0, Length);

    /// <summary>The whole key buffer of <paramref name="layer"/>, <c>[B, kv_heads, max_length, head_dim]</c> (the cache's
    /// own tensor, not a copy: do not dispose it). The static decode step writes into it at a device-side position.</summary>
    internal Tensor KeyBuffer(int layer) => _keys[layer];

    /// <summary>The whole value buffer of <paramref name="layer"/> (see <see cref="KeyBuffer"/>).</summary>
    internal Tensor ValueBuffer(int layer) => _values[layer];

    /// <summary>Frees the preallocated tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
