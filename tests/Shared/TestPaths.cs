namespace FineR1.Tests;

/// <summary>Where tests find their data: tests/Fixtures is copied next to every test binary.</summary>
internal static class TestPaths
{
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    /// <summary>The repository's root folder (the one holding FineR1.sln), found upwards from the test binary.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "FineR1.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no FineR1.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>A fresh temporary folder, deleted when disposed.</summary>
    public static TempDir NewTempDir() => new();

    /// <summary>Folders named in a <c>:</c>-separated environment variable (extra fixtures a developer points at).</summary>
    public static IEnumerable<string> FromEnvironment(string variable) =>
        (Environment.GetEnvironmentVariable(variable) ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "finer1-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
