using FineR1.Core.Native;

[assembly: AssemblyFixture(typeof(FineR1.Tests.NativeSetup))]

namespace FineR1.Tests;

/// <summary>
/// Installs the TorchSharp loading fix once before the tests of an assembly run (an xunit v3 assembly fixture), so a
/// test that touches TorchSharp before any FineR1 type still loads the native library (docs/torchsharp-on-linux.md).
/// It runs when tests execute, not while they are discovered, so discovery stays light.
/// </summary>
public sealed class NativeSetup
{
    public NativeSetup() => TorchSharpNativeLoader.EnsureInstalled();
}
