using System.Runtime.CompilerServices;
using FineR1.Core.Native;

namespace FineR1.Tests;

internal static class NativeSetup
{
    /// <summary>
    /// Installs the TorchSharp loading fix before any test runs, so a test that touches TorchSharp before any FineR1
    /// type still loads the native library (see docs/torchsharp-on-linux.md).
    /// </summary>
    [ModuleInitializer]
    internal static void Init() => TorchSharpNativeLoader.EnsureInstalled();
}
