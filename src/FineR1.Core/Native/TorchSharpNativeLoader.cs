using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;

namespace FineR1.Core.Native;

/// <summary>What <see cref="TorchSharpNativeLoader"/> decided for this process.</summary>
/// <param name="PatchNeeded">True when the system libstdc++ lacks a version TorchSharp's native library asks for.</param>
/// <param name="MissingVersions">The required versions the system libstdc++ does not define.</param>
/// <param name="OriginalLibrary">Path of TorchSharp's <c>libLibTorchSharp.so</c> next to the application, if found.</param>
/// <param name="PatchedLibrary">Path of the patched copy that is loaded instead, when a patch was needed.</param>
public sealed record NativeLoadDecision(bool PatchNeeded, IReadOnlyList<string> MissingVersions, string? OriginalLibrary, string? PatchedLibrary);

/// <summary>
/// Makes TorchSharp 0.107.0 load on Linux distributions whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04)
/// with no manual step: when, and only when, the system libstdc++ lacks <c>GLIBCXX_3.4.32</c>, TorchSharp's
/// <c>LibTorchSharp</c> is resolved to a patched copy kept in a cache folder (the NuGet cache is never touched).
/// </summary>
/// <remarks>
/// The only <c>GLIBCXX_3.4.32</c> symbol the library references is <c>std::ios_base_library_init</c>, emitted by
/// GCC 13's <c>&lt;iostream&gt;</c> and never called; renaming that version requirement to <c>GLIBCXX_3.4.30</c>
/// is the whole fix (see <c>docs/torchsharp-on-linux.md</c>). The resolver runs automatically when FineR1.Core is
/// loaded (module initializer); call <see cref="EnsureInstalled"/> first if your code touches TorchSharp before
/// any FineR1 type. Set <c>FINER1_NATIVE_CACHE</c> to choose the cache folder, <c>FINER1_NO_NATIVE_PATCH=1</c> to
/// turn the mechanism off.
/// </remarks>
public static class TorchSharpNativeLoader
{
    /// <summary>The version the GCC 13 build of TorchSharp asks for and older systems lack.</summary>
    public const string Gcc13Version = "GLIBCXX_3.4.32";

    /// <summary>The version it is renamed to: defined by GCC 12's libstdc++ (Debian 12, Ubuntu 22.04 with updates).</summary>
    public const string FallbackVersion = "GLIBCXX_3.4.30";

    private const string LibraryFile = "libLibTorchSharp.so";
    private static readonly object Gate = new();
    private static bool _installed;
    private static NativeLoadDecision? _decision;

    /// <summary>The decision taken in this process, once TorchSharp's native library has been resolved.</summary>
    public static NativeLoadDecision? Decision => _decision;

    // CA2255 warns against module initializers in libraries; here it is the point: the fix must be in place before any
    // FineR1 code makes TorchSharp load its native library, without the host calling anything. It never throws: an
    // exception here would end the process before the application's Main runs. A missing backend is reported by
    // EnsureInstalled, which FineR1's entry points call (FineR1Model.Load, the DI device selector).
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void OnModuleLoad()
    {
        try { EnsureInstalled(); }
        catch (Exception) { /* kept in _failure, rethrown by the next EnsureInstalled call */ }
    }
#pragma warning restore CA2255

    private static Exception? _failure;

    /// <summary>
    /// Checks that a libtorch backend is present and installs the resolver for TorchSharp's native library
    /// (idempotent; the resolver is a no-op outside Linux x64).
    /// </summary>
    /// <exception cref="LibTorchNotFoundException">No libtorch backend: the message names the package to add.</exception>
    /// <exception cref="NotSupportedException">The system libstdc++ lacks a version that cannot be patched away.</exception>
    public static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (!_installed)
            {
                _installed = true;
                try
                {
                    Install();
                }
                catch (Exception e)
                {
                    _failure = e;
                }
            }
            if (_failure != null) throw _failure;
        }
    }

    private static void Install()
    {
        if (OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
            && Environment.GetEnvironmentVariable("FINER1_NO_NATIVE_PATCH") != "1")
            InstallLinuxPatch();
        if (!LibTorchAvailable()) throw new LibTorchNotFoundException();
    }

    private static void InstallLinuxPatch()
    {
        var original = FindOriginal();
        var stdcxx = FindSystemLibStdCxx();
        if (original is null || stdcxx is null) return;
        var missing = MissingVersions(File.ReadAllBytes(original), File.ReadAllBytes(stdcxx));
        if (missing.Count == 0)
        {
            _decision = new NativeLoadDecision(false, missing, original, null);
            return;
        }
        // Without libtorch the patched copy cannot load; the backend check reports what to add.
        if (!LibTorchAvailable()) return;
        var dir = Path.GetDirectoryName(original)!;
        var patched = GetOrCreatePatchedCopy(original, missing);
        // Load the patched copy before TorchSharp initialises. TorchSharp then asks for "LibTorchSharp" by name:
        // the probe of the original file fails, and the loader's plain by-name lookup finds the copy already in
        // the process through its SONAME (libLibTorchSharp.so). Its RUNPATH ($ORIGIN) now points at the cache
        // folder, so its libtorch dependencies are loaded first from the original folder (or LD_LIBRARY_PATH).
        foreach (var dep in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var p = Path.Combine(dir, dep);
            if (File.Exists(p)) NativeLibrary.TryLoad(p, out _);
        }
        _handle = NativeLibrary.Load(patched);
        _decision = new NativeLoadDecision(true, missing, original, patched);
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // The host installed its own resolver for TorchSharp; the by-name lookup above still finds the copy.
        }
    }

    /// <summary>
    /// Whether libtorch's CPU library (present in every backend: TorchSharp-cpu, the CUDA libtorch packages, a PyTorch
    /// install on the library path) can be loaded the way TorchSharp loads it.
    /// </summary>
    public static bool LibTorchAvailable() =>
        NativeLibrary.TryLoad("torch_cpu", typeof(torch).Assembly, null, out _)
        || NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so", out _);

    private static IntPtr _handle;

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName is "LibTorchSharp" or LibraryFile ? _handle : IntPtr.Zero;

    /// <summary>
    /// The libstdc++ versions that <paramref name="torchSharpElf"/> requires and <paramref name="libStdCxxElf"/>
    /// does not define. Empty: no patch needed.
    /// </summary>
    public static IReadOnlyList<string> MissingVersions(ReadOnlySpan<byte> torchSharpElf, ReadOnlySpan<byte> libStdCxxElf)
    {
        var defined = new HashSet<string>(ElfVersionPatcher.DefinedVersions(libStdCxxElf));
        return ElfVersionPatcher.RequiredVersions(torchSharpElf)
            .Where(v => v.StartsWith("GLIBCXX_", StringComparison.Ordinal) && !defined.Contains(v))
            .Distinct().ToList();
    }

    /// <summary>
    /// Returns the path of a patched copy of <paramref name="original"/> in the first writable folder of
    /// <see cref="CacheRoots"/> (a read-only home or container falls back to the temporary folder).
    /// </summary>
    public static string GetOrCreatePatchedCopy(string original, IReadOnlyList<string> missing) =>
        GetOrCreatePatchedCopy(original, missing, CacheRoots());

    internal static string GetOrCreatePatchedCopy(string original, IReadOnlyList<string> missing, IReadOnlyList<string> roots)
    {
        var errors = new List<string>();
        foreach (var root in roots)
        {
            try
            {
                return GetOrCreatePatchedCopy(original, missing, root);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{root}: {e.Message}");
            }
        }
        throw new IOException($"no writable folder for the patched copy of '{original}' ({string.Join("; ", errors)}); " +
            "set FINER1_NATIVE_CACHE to a writable folder.");
    }

    /// <summary>
    /// Returns the path of a patched copy of <paramref name="original"/> under <paramref name="cacheRoot"/>, writing it
    /// atomically the first time (a copy already there is used only if its bytes are the expected ones). Throws
    /// <see cref="NotSupportedException"/> when a missing version is not the one this fix is known to be safe for.
    /// </summary>
    public static string GetOrCreatePatchedCopy(string original, IReadOnlyList<string> missing, string cacheRoot)
    {
        var unexpected = missing.Where(v => v != Gcc13Version).ToList();
        if (unexpected.Count > 0)
            throw new NotSupportedException(
                $"'{original}' needs libstdc++ versions {string.Join(", ", unexpected)} that this system lacks; " +
                $"only {Gcc13Version} can be patched away safely. Install a newer libstdc++ (GCC 13 or later).");
        var bytes = File.ReadAllBytes(original);
        var key = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        if (ElfVersionPatcher.RenameRequiredVersion(bytes, Gcc13Version, FallbackVersion) == 0)
            throw new InvalidDataException($"'{original}': no {Gcc13Version} requirement found to patch.");
        var dir = Path.Combine(cacheRoot, key);
        var target = Path.Combine(dir, LibraryFile);
        // A shared temporary folder may hold a file someone else wrote: load only the bytes this process would write.
        if (File.Exists(target) && SHA256.HashData(File.ReadAllBytes(target)).AsSpan().SequenceEqual(SHA256.HashData(bytes)))
            return target;
        Directory.CreateDirectory(dir);
        var tmp = target + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, target, overwrite: true);
        return target;
    }

    /// <summary>The folder patched libraries are cached in when it is writable (<see cref="CacheRoots"/>' first).</summary>
    public static string CacheRoot() => CacheRoots()[0];

    /// <summary>
    /// Where patched libraries are cached, in order of preference: <c>FINER1_NATIVE_CACHE</c>, else
    /// <c>$XDG_CACHE_HOME/finer1/native</c> or <c>~/.cache/finer1/native</c>; then a per-user folder in the temporary
    /// folder, for read-only homes and containers.
    /// </summary>
    public static IReadOnlyList<string> CacheRoots()
    {
        var roots = new List<string>();
        var env = Environment.GetEnvironmentVariable("FINER1_NATIVE_CACHE");
        if (!string.IsNullOrEmpty(env)) roots.Add(env);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var baseDir = !string.IsNullOrEmpty(xdg) ? xdg : string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache");
        if (baseDir != null) roots.Add(Path.Combine(baseDir, "finer1", "native"));
        roots.Add(Path.Combine(Path.GetTempPath(), "finer1-native-" + Environment.UserName));
        return roots;
    }

    /// <summary>Finds TorchSharp's native library where the .NET host probes for it.</summary>
    public static string? FindOriginal()
    {
        var dirs = new List<string> { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") };
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probe)
            dirs.AddRange(probe.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return dirs.Select(d => Path.Combine(d, LibraryFile)).FirstOrDefault(File.Exists);
    }

    /// <summary>The libstdc++ this process uses (the .NET runtime itself links it).</summary>
    public static string? FindSystemLibStdCxx()
    {
        string? fromMaps = null;
        try
        {
            fromMaps = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6 && Path.GetFileName(p[5]).StartsWith("libstdc++.so", StringComparison.Ordinal))
                .Select(p => p[5]).FirstOrDefault();
        }
        catch (IOException) { }
        if (fromMaps != null && File.Exists(fromMaps)) return fromMaps;
        return new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }
            .FirstOrDefault(File.Exists);
    }
}
