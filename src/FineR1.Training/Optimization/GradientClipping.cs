using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Optimization;

/// <summary>Outcome of <see cref="GradientClipping.ClipAndStep(IReadOnlyList{Parameter}, Action, double)"/>.</summary>
/// <param name="GradNorm">Total L2 norm of the gradients before clipping (NaN/∞ when non-finite).</param>
/// <param name="Stepped">False when the step was skipped because the norm was not finite.</param>
public sealed record OptimizerStepResult(double GradNorm, bool Stepped);

/// <summary>
/// Gradient-norm clipping and the guarded optimizer step of the reference actor (docs/method.md §5.4: clip to 1.0, skip the step
/// if the norm is not finite, then zero the gradients).
/// </summary>
public static class GradientClipping
{
    /// <summary>
    /// Total L2 norm over all gradients (<c>torch.nn.utils.clip_grad_norm_</c>'s norm), computed in float32 or better.
    /// Parameters without gradient are ignored.
    /// </summary>
    public static double TotalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var norms = parameters.Select(p => p.grad).Where(g => g is not null)
            .Select(g => g!.detach().to_type(g.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32).norm())
            .ToList();
        if (norms.Count == 0) return 0.0;
        return stack(norms).norm().ToDouble();
    }

    /// <summary>
    /// Scales all gradients by <c>min(1, maxNorm / (norm + 1e-6))</c> when the norm is finite (PyTorch's formula) and
    /// returns the pre-clip norm. Non-finite norms leave the gradients untouched.
    /// </summary>
    public static double ClipGradNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be > 0.");
        double norm = TotalNorm(parameters);
        if (!double.IsFinite(norm)) return norm;
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1.0)
        {
            using var scope = NewDisposeScope();   // every p.grad read is a new native handle
            using var noGrad = no_grad();
            foreach (var p in parameters) p.grad?.mul_(coef);
        }
        return norm;
    }

    /// <summary>
    /// Clips to <paramref name="maxNorm"/>; steps the optimizer only when the norm is finite; always zeroes the gradients.
    /// </summary>
    /// <remarks>Frees every tensor handle it creates (each read of <c>p.grad</c> makes one): a loop of calls leaves
    /// the live-tensor count unchanged without an outer dispose scope. <paramref name="step"/> runs outside its scopes, so
    /// state an optimizer creates lazily is not disposed here.</remarks>
    /// <example>All gradients NaN after a bf16 overflow → <c>Stepped = false</c>, weights unchanged, gradients zeroed.</example>
    public static OptimizerStepResult ClipAndStep(IReadOnlyList<Parameter> parameters, Action step, double maxNorm = 1.0)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(parameters);
        double norm = ClipGradNorm(parameters, maxNorm);
        bool finite = double.IsFinite(norm);
        if (finite) step();
        using var scope = NewDisposeScope();
        foreach (var p in parameters)
            p.grad?.zero_();
        return new OptimizerStepResult(norm, finite);
    }

    /// <summary><see cref="ClipAndStep(IReadOnlyList{Parameter}, Action, double)"/> for a TorchSharp optimizer.</summary>
    public static OptimizerStepResult ClipAndStep(IReadOnlyList<Parameter> parameters, optim.Optimizer optimizer, double maxNorm = 1.0) =>
        ClipAndStep(parameters, () => optimizer.step(), maxNorm);
}
