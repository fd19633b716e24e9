using FineR1.Core.Native;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Generation;

/// <summary>How <see cref="Qwen2_5_VLGenerationModel"/> runs decode steps (prefill is the same for all).</summary>
public enum DecodeBackend
{
    /// <summary><see cref="CudaGraph"/> on a CUDA device where the native CUDA library is available, else
    /// <see cref="Static"/>. The environment variable <c>FINER1_CUDA_GRAPHS</c> overrides this choice:
    /// <c>0</c> forces <see cref="Static"/>, <c>1</c> forces <see cref="CudaGraph"/>.</summary>
    Auto,
    /// <summary>The model's own forward per token with a growing mask (dynamic shapes); the numerical reference.</summary>
    Reference,
    /// <summary>The lean static-shape step (<see cref="FineR1.Core.Modeling.Text.StaticDecodeStep"/>), run eagerly.
    /// Any device.</summary>
    Static,
    /// <summary>The static step captured once per batch bucket as a CUDA graph and replayed every step. Needs CUDA and
    /// the native library (<see cref="CudaGraphs.Available"/>); throws when either is missing.</summary>
    CudaGraph,
}

/// <summary>Resolves <see cref="DecodeBackend.Auto"/> and the <c>FINER1_CUDA_GRAPHS</c> override.</summary>
internal static class DecodeBackends
{
    private static int _logged;

    public static DecodeBackend Resolve(DecodeBackend requested, Device device, ILogger logger)
    {
        if (requested == DecodeBackend.Auto)
        {
            requested = Environment.GetEnvironmentVariable("FINER1_CUDA_GRAPHS") switch
            {
                "0" => DecodeBackend.Static,
                "1" => DecodeBackend.CudaGraph,
                _ => device.type == DeviceType.CUDA && CudaGraphs.Available ? DecodeBackend.CudaGraph : DecodeBackend.Static,
            };
            if (requested == DecodeBackend.Static && device.type == DeviceType.CUDA && Interlocked.Exchange(ref _logged, 1) == 0)
                logger.LogInformation("Decoding without CUDA graphs (static eager step): {Reason}",
                    Environment.GetEnvironmentVariable("FINER1_CUDA_GRAPHS") == "0" ? "FINER1_CUDA_GRAPHS=0" : CudaGraphs.UnavailableReason);
        }
        if (requested == DecodeBackend.CudaGraph)
        {
            if (device.type != DeviceType.CUDA)
                throw new InvalidOperationException($"DecodeBackend.CudaGraph needs a CUDA device; the model is on {device}.");
            if (!CudaGraphs.Available)
                throw new InvalidOperationException($"DecodeBackend.CudaGraph was requested but CUDA graphs are not available: {CudaGraphs.UnavailableReason}");
        }
        return requested;
    }
}
