using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FineR1.Sdk.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md and docs/*.md compiles, as the body of a new console app (its implicit
/// usings, nothing else) that references the FineR1 packages and what they depend on. A block must therefore carry its
/// own <c>using</c> directives and declare what it uses. Only errors fail; nothing runs.
/// </summary>
public sealed partial class DocsSnippetTests
{
    private const string ConsoleAppUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (var (id, _) in AllSnippets()) data.Add(id);
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void The_snippet_compiles(string id)
    {
        var code = AllSnippets().Single(s => s.Id == id).Code;
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create("Snippet",
            [CSharpSyntaxTree.ParseText(ConsoleAppUsings, options), CSharpSyntaxTree.ParseText(code, options, path: id)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable,
                allowUnsafe: true));
        var errors = compilation.GetDiagnostics(TestContext.Current.CancellationToken)
            .Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, $"{id} does not compile:\n{string.Join("\n", errors)}\n---\n{code}");
    }

    [Fact]
    public void The_docs_have_snippets_to_compile() => Assert.True(AllSnippets().Count() > 20);

    /// <summary>The application's trusted assemblies: the framework, FineR1, TorchSharp, SkiaSharp, Microsoft.Extensions.*.</summary>
    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList());

    private static IEnumerable<(string Id, string Code)> AllSnippets()
    {
        var root = TestPaths.RepositoryRoot;
        var files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (Match m in CSharpBlock().Matches(text))
            {
                int line = text[..m.Index].Count(c => c == '\n') + 1;
                yield return ($"{Path.GetRelativePath(root, file)}:{line}", m.Groups[1].Value);
            }
        }
    }

    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CSharpBlock();
}
