using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Modeling.Common;

/// <summary>
/// Activation (gradient) checkpointing for TorchSharp, which has no <c>torch.utils.checkpoint</c>: the wrapped function
/// runs without building a graph; in backward it is recomputed with grad enabled and differentiated with
/// <c>torch.autograd.grad</c>. Built on TorchSharp 0.107.0's custom autograd functions
/// (<c>torch.autograd.SingleTensorFunction&lt;T&gt;</c>). The reference trains with gradient checkpointing on (docs/method.md §5.7).
/// </summary>
/// <remarks>
/// The module's parameters are passed to the autograd function as inputs, so their gradients flow through the normal
/// accumulation path even when no input tensor requires grad (PyTorch's reentrant checkpoint loses them in that case).
/// RNG state is not replayed: use it only for deterministic functions (Qwen2.5-VL layers have no dropout in training).
/// </remarks>
public static class GradientCheckpoint
{
    /// <summary>
    /// <c>function(inputs)</c>, recomputed in backward instead of keeping its activations. Gradients w.r.t.
    /// <paramref name="inputs"/> (those requiring grad) and <paramref name="parameters"/> equal those of calling
    /// <paramref name="function"/> directly. Outside grad mode it just calls the function.
    /// </summary>
    /// <param name="function">Deterministic function of the inputs (and of the parameters it closes over).</param>
    /// <param name="inputs">Tensor inputs; must not be modified in place later.</param>
    /// <param name="parameters">Every trainable parameter the function uses.</param>
    /// <example><code>
    /// hidden = GradientCheckpoint.Apply(xs => layer.call(xs[0], xs[1]), [hidden, positionEmbeddings], layer.parameters().ToList());
    /// </code></example>
    public static Tensor Apply(Func<Tensor[], Tensor> function, Tensor[] inputs, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(parameters);
        if (!is_grad_enabled()) return function(inputs);
        var vars = new List<object> { function, inputs.Length };
        vars.AddRange(inputs);
        vars.AddRange(parameters.Where(p => p.requires_grad));
        return CheckpointFunction.apply(vars.ToArray());
    }

    /// <summary>Single-input form of <see cref="Apply(Func{Tensor[], Tensor}, Tensor[], IReadOnlyList{Parameter})"/>; parameters taken from <paramref name="module"/>.</summary>
    public static Tensor Apply(nn.Module<Tensor, Tensor> module, Tensor input) =>
        Apply(xs => module.call(xs[0]), [input], module.parameters().ToList());

    private sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "FineR1CheckpointFunction";

        // vars = [function, inputCount, inputs…, parameters…]; runs under no_grad (TorchSharp's apply does that).
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var function = (Func<Tensor[], Tensor>)vars[0];
            int count = (int)vars[1];
            var inputs = vars.Skip(2).Take(count).Cast<Tensor>().ToArray();
            var parameters = vars.Skip(2 + count).Cast<Tensor>().ToArray();
            ctx.save_for_backward([.. inputs]);
            ctx.save_data("function", function);
            ctx.save_data("count", count);
            ctx.save_data("inputRequiresGrad", inputs.Select(t => t.requires_grad).ToArray());
            ctx.save_data("parameters", parameters);
            return function(inputs);
        }

        // Gradients handed back to autograd by earlier backward calls on this thread. They cannot be disposed inside the
        // call that returns them; autograd has taken its own reference by the time the same thread runs the next
        // backward, so each call frees the previous ones. Bounded: at most one segment's gradients stay alive per thread.
        // Per thread, not per process: two models trained on two threads (in-process data-parallel ranks) run backward
        // concurrently, and a shared queue let one thread free the other's gradients before autograd had read them
        // ("Tensor invalid -- empty handle" in TorchSharp's ApplyFunc, or silently wrong gradients).
        [ThreadStatic] private static Queue<Tensor>? _returned;

        private static Queue<Tensor> Returned => _returned ??= new Queue<Tensor>();

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            while (Returned.TryDequeue(out var old)) old.Dispose();
            var function = (Func<Tensor[], Tensor>)ctx.get_data("function");
            int count = (int)ctx.get_data("count");
            var requiresGrad = (bool[])ctx.get_data("inputRequiresGrad");
            var parameters = (Tensor[])ctx.get_data("parameters");

            // On CUDA, autograd calls backward on its own device thread, outside any dispose scope of the caller:
            // without this scope every recomputed activation would live until the GC finalised it (an out-of-memory
            // after a few micro-batches of a 3B model).
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            using var grad = enable_grad();
            var inputs = saved.Select((t, i) => t.detach().requires_grad_(requiresGrad[i])).ToArray();
            var output = function(inputs);
            var wrt = inputs.Where(t => t.requires_grad).Concat(parameters).ToList();
            var grads = wrt.Count == 0 ? [] : autograd.grad([output], wrt, [gradOutput], allow_unused: true);

            // One entry per forward var: null for the function and the count, then inputs, then parameters.
            var result = new List<Tensor> { null!, null! };
            int k = 0;
            for (int i = 0; i < count; i++) result.Add(inputs[i].requires_grad ? Keep(grads[k++]) : null!);
            foreach (var _ in parameters) result.Add(Keep(grads[k++]));
            return result;
        }

        private static Tensor Keep(Tensor? t)
        {
            var defined = Defined(t);
            if (defined is not null)
            {
                defined.DetachFromDisposeScope();
                Returned.Enqueue(defined);
            }
            return defined!;
        }

        private static Tensor Defined(Tensor? t) => t is null || t.IsInvalid ? null! : t;
    }
}
