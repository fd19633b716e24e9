using System.Reflection;
using System.Runtime.CompilerServices;

namespace FineR1.Experiments.Tests.Architecture;

/// <summary>
/// The layering of the FineR1 assemblies (docs/architecture.md): Core depends on no other FineR1 assembly; Training and
/// Inference each build on Core only; the quickstart demo (Experiments) may use all three. Checked on the compiled
/// assemblies' references, so a <c>ProjectReference</c> that is never used does not count, and one that is used does.
/// </summary>
public class AssemblyDependencyTests
{
    private static readonly Assembly Core = typeof(FineR1.Core.Configuration.Qwen2_5_VLConfig).Assembly;
    private static readonly Assembly Training = typeof(FineR1.Training.Tapo.TapoOptions).Assembly;
    private static readonly Assembly Inference = typeof(FineR1.Inference.Classification.FineGrainedClassifier).Assembly;
    private static readonly Assembly Experiments = typeof(ExperimentRunner).Assembly;

    /// <summary>Assembly → the FineR1 assemblies it may reference.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["FineR1.Core"] = [],
        ["FineR1.Training"] = ["FineR1.Core"],
        ["FineR1.Inference"] = ["FineR1.Core"],
        ["FineR1.Experiments"] = ["FineR1.Core", "FineR1.Training", "FineR1.Inference"],
    };

    public static TheoryData<string> Assemblies => new(Allowed.Keys);

    private static Assembly Named(string name) => new[] { Core, Training, Inference, Experiments }.Single(a => a.GetName().Name == name);

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void References_only_the_FineR1_assemblies_below_it(string name)
    {
        var referenced = Named(name).GetReferencedAssemblies().Select(r => r.Name!)
            .Where(n => n.StartsWith("FineR1.", StringComparison.Ordinal)).Order().ToList();
        var forbidden = referenced.Except(Allowed[name]).ToList();
        Assert.True(forbidden.Count == 0, $"{name} references {string.Join(", ", forbidden)}; allowed: [{string.Join(", ", Allowed[name])}]");
    }

    [Fact]
    public void Every_FineR1_library_next_to_the_tests_has_a_rule()
    {
        // A new library (e.g. a second model family in its own assembly) must be given its place in the layering.
        var libraries = Directory.GetFiles(AppContext.BaseDirectory, "FineR1.*.dll")
            .Select(Path.GetFileNameWithoutExtension).Where(n => !n!.EndsWith(".Tests", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(Allowed.Keys.Order(), libraries);
    }

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Grants_internals_to_its_own_tests_at_most(string name)
    {
        var friends = Named(name).GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();
        Assert.All(friends, f => Assert.Equal($"{name}.Tests", f));
    }
}
