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
}
