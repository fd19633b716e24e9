using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FineR1.Inference.Tests.Classification;

namespace FineR1.Sdk.Tests.Packaging;

/// <summary>
/// What a consumer meets: the three packages packed to a local folder feed, their metadata, and a fresh console app
/// that references them from that feed (plus the native packages the README's Install section names) and runs the
/// README's classification example on a tiny model.
/// </summary>
[Trait("Category", "Packaging")]
public sealed partial class PackedPackagesTests(PackedFeed feed) : IClassFixture<PackedFeed>
{
    [Fact]
    public void Each_package_has_licence_repository_symbols_readme_and_no_native_dependency()
    {
        foreach (var p in PackedFeed.Packages) CheckPackage(feed.Folder, p, feed.Version);
    }

    [Fact]
    public async Task The_readme_example_runs_in_a_fresh_app_against_the_packages()
    {
        using var work = TestPaths.NewTempDir();
        string model;
        using (var tiny = new TinyQwen()) model = tiny.SaveFolder(Path.Combine(work.Path, "model"));
        var app = Path.Combine(work.Path, "app");
        WriteConsumerApp(app, feed, ReadmeClassificationExample(TestPaths.RepositoryRoot), withBackend: true);
        (await DotnetCli.DotnetAsync(app, "build", "-c", "Release", "-nologo")).EnsureSuccess("building the fresh app");
        var run = (await DotnetCli.DotnetAsync(app, "run", "-c", "Release", "--no-build", "--", model, TinyQwen.Image0))
            .EnsureSuccess("running the README example");
        foreach (var name in new[] { "Painted Bunting", "Indigo Bunting", "Lazuli Bunting", "Varied Bunting" })
            Assert.Contains(name + ":", run.Output);
    }

    [Fact]
    public async Task Without_a_libtorch_backend_the_app_starts_and_is_told_which_package_to_add()
    {
        using var work = TestPaths.NewTempDir();
        var app = Path.Combine(work.Path, "app");
        WriteConsumerApp(app, feed, """
            Console.WriteLine("Main ran");
            try
            {
                using var model = FineR1.Core.Pipeline.FineR1Model.Load(AppContext.BaseDirectory);
            }
            catch (FineR1.Core.Native.LibTorchNotFoundException e)
            {
                Console.WriteLine(e.Message);
                return 3;
            }
            return 0;
            """, withBackend: false);
        (await DotnetCli.DotnetAsync(app, "build", "-c", "Release", "-nologo")).EnsureSuccess("building the app without a backend");
        var run = await DotnetCli.DotnetAsync(app, "run", "-c", "Release", "--no-build");
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}:\n{run.Output}");
        Assert.Contains("Main ran", run.Output);
        foreach (var package in new[] { "TorchSharp-cpu", "libtorch-cuda-12.8-linux-x64", "libtorch-cuda-12.8-win-x64" })
            Assert.Contains(package, run.Output);
    }

    /// <summary>Licence, repository (URL and commit, for Source Link), symbols, README links, dependencies.</summary>
    private static void CheckPackage(string feed, string id, string version)
    {
        Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.snupkg")), $"{id}: no symbol package");
        using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
        XNamespace ns = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";
        using (var nuspecStream = zip.GetEntry($"{id}.nuspec")!.Open())
        {
            var metadata = XDocument.Load(nuspecStream).Root!.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            var repository = metadata.Element(ns + "repository")!;
            Assert.StartsWith("https://github.com/", repository.Attribute("url")!.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            // Native backends are the consumer's choice (TorchSharp-cpu or a CUDA libtorch; Skia's Linux assets).
            Assert.DoesNotContain(dependencies, d => d.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase)
                || d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)
                || d.StartsWith("SkiaSharp.NativeAssets", StringComparison.OrdinalIgnoreCase));
        }
        using var readme = new StreamReader(zip.GetEntry("README.md")!.Open());
        var relative = MarkdownLink().Matches(readme.ReadToEnd()).Select(m => m.Groups[1].Value)
            .Where(link => !link.StartsWith("https://", StringComparison.Ordinal)).ToList();
        Assert.True(relative.Count == 0, $"{id}: README links that are dead on a package gallery: {string.Join(", ", relative)}");
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));
    }

    /// <summary>
    /// The README's classification example with the model folder and image taken from the command line, and a short
    /// generation (a random model would otherwise write its maximum length).
    /// </summary>
    private static string ReadmeClassificationExample(string root)
    {
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var snippet = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value)
            .Single(s => s.Contains("new FineGrainedClassifier(", StringComparison.Ordinal));
        return Replace(Replace(Replace(snippet,
            "\"/models/Fine-R1-3B\"", "args[0]"),
            "\"bird.jpg\"", "args[1]"),
            "ComputeConfidences = true", "ComputeConfidences = true, MaxNewTokens = 12");

        static string Replace(string s, string what, string with) =>
            s.Contains(what, StringComparison.Ordinal) ? s.Replace(what, with, StringComparison.Ordinal)
                : throw new Xunit.Sdk.XunitException($"the README's classification example no longer contains {what}");
    }

    /// <summary>A console app as a user writes it, outside the repository (none of its build files apply).</summary>
    private static void WriteConsumerApp(string app, PackedFeed feed, string program, bool withBackend)
    {
        Directory.CreateDirectory(app);
        string Pinned(string id) => XDocument.Load(Path.Combine(TestPaths.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion").Single(e => e.Attribute("Include")!.Value == id).Attribute("Version")!.Value;
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="FineR1.Inference" Version="{feed.Version}" />
                {(withBackend ? $"<PackageReference Include=\"TorchSharp-cpu\" Version=\"{Pinned("TorchSharp-cpu")}\" />" : "")}
                <PackageReference Include="SkiaSharp.NativeAssets.Linux.NoDependencies" Version="{Pinned("SkiaSharp.NativeAssets.Linux.NoDependencies")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed.Folder}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"```csharp\r?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}

/// <summary>The three packages packed once per test class, with a version of their own, into a temporary folder feed.</summary>
public sealed class PackedFeed : IAsyncLifetime
{
    public static readonly string[] Packages = ["FineR1.Core", "FineR1.Inference", "FineR1.Training"];

    private readonly TempDir _dir = TestPaths.NewTempDir();

    /// <summary>Unique per run, so a consumer never restores a stale copy from the global package cache.</summary>
    public string Version { get; } = $"0.0.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public string Folder => _dir.Path;

    public async ValueTask InitializeAsync()
    {
        foreach (var p in Packages)
            (await DotnetCli.DotnetAsync(TestPaths.RepositoryRoot, "pack", $"src/{p}/{p}.csproj", "-c", "Release", "-o", Folder,
                "-nologo", $"-p:Version={Version}")).EnsureSuccess($"dotnet pack {p}");
    }

    public ValueTask DisposeAsync()
    {
        // The global package cache keeps every restored version; this run's are of no further use.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var p in Packages)
        {
            var dir = Path.Combine(cache, p.ToLowerInvariant(), Version);
            try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
