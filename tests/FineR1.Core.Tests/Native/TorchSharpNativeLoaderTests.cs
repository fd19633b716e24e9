using FineR1.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Native;

public class TorchSharpNativeLoaderTests
{
    private static string Original => TorchSharpNativeLoader.FindOriginal()
        ?? throw new InvalidOperationException("libLibTorchSharp.so not found next to the test binary.");

    [Fact]
    public void TorchSharp_loads_and_runs_bf16_matmul_and_sdpa_on_this_machine()
    {
        TorchSharpNativeLoader.EnsureInstalled();
        using var scope = NewDisposeScope();
        var a = ones(8, 8, dtype: ScalarType.BFloat16);
        Assert.Equal(8f, (float)matmul(a, a)[0, 0].item<BFloat16>());
        var q = randn(1, 2, 5, 8);
        var o = nn.functional.scaled_dot_product_attention(q, q, q, is_casual: true);
        Assert.Equal(new long[] { 1, 2, 5, 8 }, o.shape);
    }

    [Fact]
    public void The_decision_follows_the_system_libstdcxx()
    {
        TorchSharpNativeLoader.EnsureInstalled();
        var stdcxx = TorchSharpNativeLoader.FindSystemLibStdCxx();
        Assert.NotNull(stdcxx);
        bool systemHas32 = ElfVersionPatcher.DefinedVersions(File.ReadAllBytes(stdcxx)).Contains(TorchSharpNativeLoader.Gcc13Version);
        var decision = TorchSharpNativeLoader.Decision;
        Assert.NotNull(decision);
        Assert.Equal(!systemHas32, decision.PatchNeeded);
        if (decision.PatchNeeded)
        {
            Assert.Equal([TorchSharpNativeLoader.Gcc13Version], decision.MissingVersions);
            Assert.True(File.Exists(decision.PatchedLibrary));
        }
    }

    [Fact]
    public void The_library_needs_exactly_one_GCC13_version()
    {
        var required = ElfVersionPatcher.RequiredVersions(File.ReadAllBytes(Original));
        Assert.Single(required, v => v == TorchSharpNativeLoader.Gcc13Version);
        Assert.Contains(TorchSharpNativeLoader.FallbackVersion, required);
    }

    [Fact]
    public void Patch_needed_when_libstdcxx_lacks_3_4_32_and_not_when_it_has_it()
    {
        var original = File.ReadAllBytes(Original);
        // A libstdc++ without 3.4.32 (this Debian 12 one after the test above, or a fake built by hiding it).
        var stdcxx = File.ReadAllBytes(TorchSharpNativeLoader.FindSystemLibStdCxx()!);
        var defined = ElfVersionPatcher.DefinedVersions(stdcxx);
        if (!defined.Contains(TorchSharpNativeLoader.Gcc13Version))
            Assert.Equal([TorchSharpNativeLoader.Gcc13Version], TorchSharpNativeLoader.MissingVersions(original, stdcxx));
        // "Not needed": the same library whose requirement was already renamed is satisfied by a GCC 12 libstdc++.
        var renamed = (byte[])original.Clone();
        Assert.Equal(1, ElfVersionPatcher.RenameRequiredVersion(renamed, TorchSharpNativeLoader.Gcc13Version, TorchSharpNativeLoader.FallbackVersion));
        Assert.Empty(TorchSharpNativeLoader.MissingVersions(renamed, stdcxx));
    }

    [Fact]
    public void An_unwritable_cache_folder_falls_back_to_the_next_one()
    {
        using var tmp = TestPaths.NewTempDir();
        // A folder below a regular file cannot be created, even by root (as in a read-only container's home).
        var blocker = tmp.File("a-file");
        File.WriteAllText(blocker, "");
        var fallback = Path.Combine(tmp.Path, "fallback");
        var path = TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original, [TorchSharpNativeLoader.Gcc13Version],
            [Path.Combine(blocker, "cache"), fallback]);
        Assert.StartsWith(fallback, path);
        Assert.DoesNotContain(TorchSharpNativeLoader.Gcc13Version, ElfVersionPatcher.RequiredVersions(File.ReadAllBytes(path)));
        var error = Assert.Throws<IOException>(() => TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original,
            [TorchSharpNativeLoader.Gcc13Version], [Path.Combine(blocker, "cache")]));
        Assert.Contains("FINER1_NATIVE_CACHE", error.Message);
        // The last resort is always the temporary folder.
        Assert.StartsWith(Path.GetTempPath(), TorchSharpNativeLoader.CacheRoots()[^1]);
    }

    [Fact]
    public void A_cached_copy_with_unexpected_bytes_is_replaced()
    {
        using var tmp = TestPaths.NewTempDir();
        var path = TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original, [TorchSharpNativeLoader.Gcc13Version], tmp.Path);
        var good = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Equal(path, TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original, [TorchSharpNativeLoader.Gcc13Version], tmp.Path));
        Assert.Equal(good, File.ReadAllBytes(path));
    }

    [Fact]
    public void The_patched_copy_differs_only_in_the_version_name_and_its_hash()
    {
        using var tmp = TestPaths.NewTempDir();
        var original = File.ReadAllBytes(Original);
        var path = TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original, [TorchSharpNativeLoader.Gcc13Version], tmp.Path);
        var patched = File.ReadAllBytes(path);
        Assert.Equal(original.Length, patched.Length);
        int differing = original.Zip(patched).Count(p => p.First != p.Second);
        Assert.InRange(differing, 1, 1 + 4); // one character of the name ('2' -> '0') plus at most the 4 hash bytes
        var required = ElfVersionPatcher.RequiredVersions(patched);
        Assert.DoesNotContain(TorchSharpNativeLoader.Gcc13Version, required);
        // The NuGet copy is untouched.
        Assert.Contains(TorchSharpNativeLoader.Gcc13Version, ElfVersionPatcher.RequiredVersions(File.ReadAllBytes(Original)));
    }

    [Fact]
    public void Elf_hash_matches_known_values()
    {
        // The hashes the GNU linker stored in TorchSharp's own .gnu.version_r for these two names.
        Assert.Equal(0x0297f840u, ElfVersionPatcher.ElfHash("GLIBCXX_3.4.30"));
        Assert.Equal(0x0297f842u, ElfVersionPatcher.ElfHash("GLIBCXX_3.4.32"));
        var lib = File.ReadAllBytes(Original);
        Assert.True(ContainsUInt32(lib, 0x0297f842u) && ContainsUInt32(lib, 0x0297f840u));
    }

    [Fact]
    public void Unknown_missing_versions_are_refused_with_a_clear_message()
    {
        using var tmp = TestPaths.NewTempDir();
        var e = Assert.Throws<NotSupportedException>(() =>
            TorchSharpNativeLoader.GetOrCreatePatchedCopy(Original, ["GLIBCXX_3.4.33"], tmp.Path));
        Assert.Contains("GLIBCXX_3.4.33", e.Message);
    }

    private static bool ContainsUInt32(byte[] bytes, uint value) =>
        bytes.AsSpan().IndexOf(BitConverter.GetBytes(value)) >= 0;
}
