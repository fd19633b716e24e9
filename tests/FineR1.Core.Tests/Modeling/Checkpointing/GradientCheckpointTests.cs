using FineR1.Core.Modeling.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Modeling.Checkpointing;

/// <summary>The checkpoint primitive on a tiny two-layer network (moved here with it from FineR1.Training).</summary>
public sealed class GradientCheckpointTests
{
    /// <summary>Linear → RMS-style norm weight → Linear.</summary>
    private sealed class TinyNet : nn.Module<Tensor, Tensor>
    {
        public readonly Linear fc1;
        public readonly Parameter norm_weight;
        public readonly Linear fc2;

        public TinyNet() : base(nameof(TinyNet))
        {
            manual_seed(3);
            fc1 = nn.Linear(6, 8);
            norm_weight = nn.Parameter(ones(8));
            fc2 = nn.Linear(8, 3);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = nn.functional.silu(fc1.call(x));
            h = h * rsqrt(h.square().mean([-1], keepdim: true) + 1e-6) * norm_weight;
            return fc2.call(h);
        }
    }

    [Fact]
    public void Checkpointed_gradients_equal_plain_gradients()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var x = randn(4, 6).requires_grad_();
        var plainOut = net.call(x);
        plainOut.pow(2).sum().backward();
        var plainParams = net.parameters().Select(p => p.grad!.clone()).ToList();
        var plainInput = x.grad!.clone();

        net.zero_grad();
        x.grad!.zero_();
        var ckOut = GradientCheckpoint.Apply(net, x);
        Assert.True(allclose(plainOut, ckOut));
        ckOut.pow(2).sum().backward();
        var ckParams = net.parameters().Select(p => p.grad!).ToList();
        for (int i = 0; i < ckParams.Count; i++) Assert.True(allclose(plainParams[i], ckParams[i], rtol: 1e-6, atol: 1e-7), $"param {i}");
        Assert.True(allclose(plainInput, x.grad!, rtol: 1e-6, atol: 1e-7));
    }

    [Fact]
    public void Checkpoint_gives_parameter_gradients_even_when_no_input_requires_grad()
    {
        using var scope = NewDisposeScope();
        var net = new TinyNet();
        var x = randn(4, 6); // e.g. frozen embeddings
        net.call(x).sum().backward();
        var plain = net.fc1.weight!.grad!.clone();
        net.zero_grad();
        // two chained checkpointed segments
        var h = GradientCheckpoint.Apply(xs => nn.functional.silu(net.fc1.call(xs[0])), [x], net.fc1.parameters().ToList());
        var o = GradientCheckpoint.Apply(xs => net.fc2.call(xs[0] * rsqrt(xs[0].square().mean([-1], keepdim: true) + 1e-6) * net.norm_weight), [h],
            [.. net.fc2.parameters(), net.norm_weight]);
        o.sum().backward();
        Assert.True(allclose(plain, net.fc1.weight!.grad!, rtol: 1e-6, atol: 1e-7));
    }

    /// <summary>
    /// Regression: the gradients a checkpoint segment hands back are freed at the next backward call. They were kept in one
    /// process-wide queue, so two threads training two models (in-process data-parallel ranks) freed each other's
    /// gradients before autograd had read them: wrong gradients or "Tensor invalid -- empty handle".
    /// </summary>
    [Fact]
    public void Threads_that_backpropagate_through_checkpoints_concurrently_get_their_own_gradients()
    {
        const int threads = 4, iterations = 40;
        var nets = Enumerable.Range(0, threads).Select(_ => new TinyNet()).ToArray();   // same seed: same weights
        Tensor Input(int thread) { using var g = new Generator((ulong)(17 + thread)); return randn([4, 6], generator: g); }

        // Three checkpointed segments per graph, so one backward pass calls the checkpoint's backward three times.
        static Tensor Forward(TinyNet net, Tensor x, bool checkpoint)
        {
            Tensor h = x;
            for (int s = 0; s < 3; s++)
            {
                var input = h;
                h = checkpoint ? GradientCheckpoint.Apply(xs => net.forward(xs[0]).repeat(1, 2), [input], net.parameters().ToList())
                               : net.forward(input).repeat(1, 2);
            }
            return h;
        }

        static Tensor[] Gradients(TinyNet net, Tensor x, bool checkpoint)
        {
            net.zero_grad();
            using (NewDisposeScope()) Forward(net, x, checkpoint).square().sum().backward();
            return net.parameters().Select(p => p.grad!.clone()).ToArray();
        }

        var expected = Enumerable.Range(0, threads).Select(t => Gradients(nets[t], Input(t), checkpoint: false)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                using var x = Input(t);
                for (int i = 0; i < iterations; i++)
                {
                    var actual = Gradients(nets[t], x, checkpoint: true);
                    for (int k = 0; k < actual.Length; k++)
                        if (!allclose(expected[t][k], actual[k], rtol: 1e-5, atol: 1e-6)) failures.Add($"thread {t} iteration {i} parameter {k}");
                    foreach (var g in actual) g.Dispose();
                }
            }
            catch (Exception e) { failures.Add($"thread {t}: {e.GetType().Name}: {e.Message}"); }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        foreach (var n in nets) n.Dispose();
    }
}
