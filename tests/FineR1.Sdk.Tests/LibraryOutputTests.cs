using System.Text.RegularExpressions;

namespace FineR1.Sdk.Tests;

/// <summary>The libraries report through ILogger only: no console output an application did not ask for.</summary>
public sealed partial class LibraryOutputTests
{
    [Fact]
    public void No_library_source_writes_to_the_console()
    {
        var src = Path.Combine(TestPaths.RepositoryRoot, "src");
        var offending = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => ConsoleUse().IsMatch(l.Text) && !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal))
            .Select(l => $"{Path.GetRelativePath(src, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offending.Count == 0, "console use in a library:\n" + string.Join("\n", offending));
    }

    [GeneratedRegex(@"\bConsole\s*\.")]
    private static partial Regex ConsoleUse();
}
