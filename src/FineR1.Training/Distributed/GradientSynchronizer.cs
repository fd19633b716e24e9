using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Training.Distributed;

/// <summary>
/// The seam between a trainer and data parallelism: called on every rank after the last backward of an optimizer step
/// and before clipping and the optimizer step, it turns each rank's local gradients into the global ones.
/// </summary>
public interface IGradientSynchronizer
{
    /// <summary>The data-parallel group.</summary>
    ICommunicator Communicator { get; }

    /// <summary>Makes the gradients of <paramref name="parameters"/> (same list, same order on every rank) global.</summary>
    void Synchronize(IReadOnlyList<Parameter> parameters);
}

/// <summary>
/// Classic data parallelism (PyTorch DDP's reduction, done once per optimizer step): every gradient is flattened into
/// one bucket and all-reduced, so each rank then clips and steps its replica of the optimizer identically.
/// <see cref="ReduceOp.Sum"/> is right when every rank divided its loss by a global count (the SFT trainer divides by
/// the step's supervised tokens over all ranks); <see cref="ReduceOp.Average"/> when each rank's loss is a mean over an
/// equal share. A parameter that has no gradient on some ranks counts as zero there; one with no gradient on any rank
/// keeps none (so the optimizer skips it as it would on one process).
/// </summary>
public sealed class AllReduceGradientSynchronizer(ICommunicator communicator, ReduceOp reduction = ReduceOp.Sum) : IGradientSynchronizer
{
    /// <inheritdoc />
    public ICommunicator Communicator { get; } = communicator ?? throw new ArgumentNullException(nameof(communicator));

    /// <summary>How the ranks' gradients are combined.</summary>
    public ReduceOp Reduction { get; } = reduction;

    /// <inheritdoc />
    public void Synchronize(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Communicator.WorldSize == 1 || parameters.Count == 0) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var dtype = parameters[0].dtype;
        var device = Communicator.Device;
        // Bucket: every gradient flattened (zeros where missing), then one "had a gradient" flag per parameter.
        var grads = parameters.Select(p => p.grad).ToList();
        var parts = new List<Tensor>(parameters.Count + 1);
        for (int i = 0; i < parameters.Count; i++)
            parts.Add(grads[i] is { } g ? g.reshape(-1).to(dtype, device) : zeros(parameters[i].NumberOfElements, dtype, device));
        parts.Add(tensor(grads.Select(g => g is null ? 0f : 1f).ToArray(), dtype, device));
        var bucket = cat(parts, 0);
        Communicator.AllReduce(bucket, Reduction);
        var flags = bucket.narrow(0, bucket.shape[0] - parameters.Count, parameters.Count).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        long offset = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            long n = p.NumberOfElements;
            if (flags[i] != 0)
            {
                var reduced = bucket.narrow(0, offset, n).view(p.shape);
                if (grads[i] is { } g) g.copy_(reduced);
                else p.grad = reduced.to(p.dtype, p.device).clone().DetachFromDisposeScope();
            }
            offset += n;
        }
    }
}
