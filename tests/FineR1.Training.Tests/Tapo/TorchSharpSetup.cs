using FineR1.Core.Native;

namespace FineR1.Training.Tests.Tapo;

/// <summary>Base of test classes that touch TorchSharp before any FineR1 type has loaded FineR1.Core.</summary>
public abstract class TorchTestBase
{
    /// <summary>Installs the native-library fix (idempotent).</summary>
    protected TorchTestBase() => TorchSharpNativeLoader.EnsureInstalled();
}
