namespace FineR1.Core.Native;

/// <summary>
/// No libtorch backend could be loaded: FineR1 references managed TorchSharp only, so the application chooses its
/// native backend by adding one package. The message names them.
/// </summary>
public sealed class LibTorchNotFoundException : DllNotFoundException
{
    /// <summary>What to add, in one message.</summary>
    public const string Advice =
        "FineR1 found no libtorch backend. Add one package to your application: " +
        "TorchSharp-cpu (CPU; Linux, Windows, macOS), " +
        "libtorch-cuda-12.8-linux-x64 (NVIDIA GPU on Linux) or " +
        "libtorch-cuda-12.8-win-x64 (NVIDIA GPU on Windows) — " +
        "e.g. `dotnet add package TorchSharp-cpu`; or put an installed PyTorch's lib folder on LD_LIBRARY_PATH. " +
        "See https://github.com/finer1/finer1/blob/main/docs/install.md";

    /// <summary>Creates the exception with <see cref="Advice"/> as its message.</summary>
    public LibTorchNotFoundException() : base(Advice) { }
}
