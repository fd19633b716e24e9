using System.Runtime.CompilerServices;
using FineR1.Core.Modeling;
using FineR1.Core.Modeling.Text;
using FineR1.Core.Native;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>
/// Per model: the <see cref="StaticDecodeStep"/> (fused weight copies) and a few batch buckets — fixed-shape buffers
/// (KV cache, step inputs) and, on the CUDA-graph backend, the graph captured over them. Buffers and graphs are reused
/// by later sessions of the same bucket, so a graph is captured once per bucket, not once per call.
/// </summary>
internal sealed class DecodeEngine
{
    /// <summary>Cache slots are allocated in multiples of this (330 + 128 tokens and 330 + 8 share the 512 bucket).</summary>
    public const long CapacityQuantum = 256;
    /// <summary>Buckets kept per model when idle; older ones are freed when a new one is needed.</summary>
    public const int MaxIdleBuckets = 3;

    private static readonly ConditionalWeakTable<Qwen2_5_VLForConditionalGeneration, DecodeEngine> Engines = new();
    private readonly object _gate = new();
    private readonly LinkedList<Bucket> _buckets = new();   // most recently used first

    public StaticDecodeStep Step { get; }

    private DecodeEngine(Qwen2_5_VLForConditionalGeneration model) => Step = new StaticDecodeStep(model);

    public static DecodeEngine For(Qwen2_5_VLForConditionalGeneration model) => Engines.GetValue(model, m => new DecodeEngine(m));

    /// <summary>Frees the engine of <paramref name="model"/> (fused weights, idle buckets, graphs); false when it has
    /// none. Buckets still in use by a session are freed when the garbage collector finalises them.</summary>
    public static bool Release(Qwen2_5_VLForConditionalGeneration model)
    {
        if (!Engines.TryGetValue(model, out var engine)) return false;
        Engines.Remove(model);
        lock (engine._gate)
        {
            foreach (var b in engine._buckets.Where(b => !b.InUse)) b.Dispose();
            engine._buckets.Clear();
        }
        engine.Step.Dispose();
        return true;
    }

    public static long CapacityFor(long tokens) => (tokens + CapacityQuantum - 1) / CapacityQuantum * CapacityQuantum;

    /// <summary>An idle bucket of <paramref name="rows"/> × <paramref name="capacity"/>, or a new one.</summary>
    public Bucket Rent(long rows, long capacity)
    {
        lock (_gate)
        {
            for (var node = _buckets.First; node is not null; node = node.Next)
            {
                var b = node.Value;
                if (b.InUse || b.Buffers.Rows != rows || b.Buffers.Capacity != capacity) continue;
                _buckets.Remove(node);
                _buckets.AddFirst(b);
                b.InUse = true;
                return b;
            }
            var idle = _buckets.Where(b => !b.InUse).Skip(MaxIdleBuckets - 1).ToList();
            foreach (var old in idle)
            {
                _buckets.Remove(old);
                old.Dispose();
            }
            var created = new Bucket(Step.CreateBuffers(rows, capacity)) { InUse = true };
            _buckets.AddFirst(created);
            return created;
        }
    }

    public void Return(Bucket bucket)
    {
        lock (_gate) bucket.InUse = false;
    }

    /// <summary>One batch bucket: its buffers and, once captured, its graph and the graph's logits tensor.</summary>
    internal sealed class Bucket(StaticDecodeBuffers buffers) : IDisposable
    {
        public StaticDecodeBuffers Buffers { get; } = buffers;
        public CudaGraph? Graph { get; set; }
        public Tensor? GraphLogits { get; set; }
        public string? CaptureFailure { get; set; }
        public bool InUse { get; set; }

        public void Dispose()
        {
            Graph?.Dispose();
            GraphLogits?.Dispose();
            Buffers.Dispose();
        }
    }
}

/// <summary>
/// A generation session on the static decode step: prefill through the model's forward into the bucket's cache, then
/// one <see cref="StaticDecodeStep.Forward"/> per token — eagerly, or replayed from the bucket's CUDA graph (captured at
/// the first decode step: that step runs eagerly on the capture stream, then the graph is recorded).
/// </summary>
internal sealed class StaticDecodeSession : IGenerationSession
{
    private readonly Qwen2_5_VLForConditionalGeneration _model;
    private readonly Func<Tensor, Tensor, Tensor>? _encodeImages;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly GenerationInputs _inputs;
    private readonly ILogger _logger;
    private readonly DecodeEngine _engine;
    private readonly DecodeEngine.Bucket _bucket;
    private readonly Tensor _positions;     // [3, B, T] prefill M-RoPE positions
    private readonly Tensor _promptMask;    // [B, T] on the device
    private bool _useGraph, _prefilled, _disposed;

    public StaticDecodeSession(Qwen2_5_VLForConditionalGeneration model, Func<Tensor, Tensor, Tensor>? encodeImages, ScalarType dtype,
        Device device, GenerationInputs inputs, int maxNewTokens, bool useGraph, ILogger logger)
    {
        _model = model;
        _encodeImages = encodeImages;
        _dtype = dtype;
        _device = device;
        _inputs = inputs;
        _logger = logger;
        _useGraph = useGraph;
        _engine = DecodeEngine.For(model);
        _engine.Step.RefreshWeights();    // the model's weights may have changed since the last session (RL updates)
        _bucket = _engine.Rent(inputs.BatchSize, DecodeEngine.CapacityFor(inputs.PromptLength + maxNewTokens));
        if (_bucket.CaptureFailure is not null) _useGraph = false;
        Tensor deltas;
        (_positions, deltas) = Qwen2_5_VLGenerationModel.PromptPositions(model.Config, inputs, device);
        using (deltas)
        {
            _promptMask = inputs.AttentionMask.to(device, copy: true).DetachFromDisposeScope();
            _bucket.Buffers.Begin(_promptMask, deltas);
        }
    }

    public Tensor Prefill()
    {
        if (_prefilled) throw new InvalidOperationException("Prefill runs once per session.");
        _prefilled = true;
        return Qwen2_5_VLGenerationModel.RunPrefill(_model, _encodeImages, _dtype, _device, _inputs, _positions, _promptMask,
            _bucket.Buffers.Cache);
    }

    public Tensor Step(Tensor tokens)
    {
        if (!_prefilled) throw new InvalidOperationException("Step before Prefill.");
        var buffers = _bucket.Buffers;
        buffers.InputIds.copy_(tokens);
        buffers.Position.fill_(buffers.Cache.Length);
        Tensor logits;
        if (!_useGraph) logits = _engine.Step.Forward(buffers);
        else if (_bucket.Graph is null) logits = WarmUpAndCapture();
        else
        {
            _bucket.Graph.Replay();
            logits = _bucket.GraphLogits!.alias();          // the graph's own output: read it before the next step
        }
        buffers.Cache.Advance(1);
        return logits;
    }

    /// <summary>Runs this step eagerly on the capture stream (it also warms up cuBLAS and lazily loaded kernels there),
    /// then records the step into the bucket's graph without running it.</summary>
    private Tensor WarmUpAndCapture()
    {
        var logits = CudaGraph.OnSideStream(() => _engine.Step.Forward(_bucket.Buffers));
        var graph = new CudaGraph();
        try
        {
            _bucket.GraphLogits = graph.Capture(() =>
            {
                using var scope = NewDisposeScope();
                return _engine.Step.Forward(_bucket.Buffers).DetachFromDisposeScope();
            });
            _bucket.Graph = graph;
        }
        catch (InvalidOperationException e)
        {
            graph.Dispose();
            _bucket.CaptureFailure = e.Message;
            _useGraph = false;
            _logger.LogWarning("CUDA graph capture failed, decoding eagerly: {Reason}", e.Message);
        }
        return logits;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _positions.Dispose();
        _promptMask.Dispose();
        _engine.Return(_bucket);
    }
}
