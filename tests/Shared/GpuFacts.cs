using FineR1.Core.Native;
using TorchSharp;

namespace FineR1.Tests;

/// <summary>Tests marked <c>[Trait("Category", "Gpu")]</c> call <see cref="RequireCuda"/> and are skipped without CUDA.</summary>
internal static class Gpu
{
    public static void RequireCuda()
    {
        TorchSharpNativeLoader.EnsureInstalled();
        if (!torch.cuda.is_available()) Assert.Skip("CUDA is not available on this machine.");
    }
}
