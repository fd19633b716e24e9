using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace FineR1.Experiments.Tests.Architecture;

/// <summary>
/// The model-family rule (docs/architecture.md, "Adding a model family"): FineR1.Training reaches a model only through
/// <c>IVisionLanguageModel</c>, so no type of a family's own surface appears anywhere in the compiled assembly — not in a
/// signature or field, and not inside a method body (a cast, a <c>new</c>, a closure). Read from the assembly's
/// metadata: every type an assembly uses is listed among its type references. A family's surface is every
/// <c>Qwen*</c> type of Core's model, configuration and generation namespaces (the model, its modules, its config, its
/// generation view) and its position rule (<c>RopeIndex</c>, <c>MultimodalRotary</c>). The shared processor
/// (<c>Qwen2_5_VLProcessor</c>, <c>Qwen2VLImageProcessor</c>) and the Qwen tokenizer are not the model and stay allowed.
/// </summary>
public class ModelFamilyRuleTests
{
    private static readonly Assembly Core = typeof(FineR1.Core.Modeling.IVisionLanguageModel).Assembly;

    private static readonly string[] FamilyNamespaces = ["FineR1.Core.Modeling", "FineR1.Core.Configuration", "FineR1.Core.Generation"];

    /// <summary>Full names (nested types with '+') of Core's family-specific types.</summary>
    private static readonly HashSet<string> FamilyTypes = Core.GetTypes()
        .Where(t => Outermost(t).Namespace is { } ns && FamilyNamespaces.Any(f => ns == f || ns.StartsWith(f + ".", StringComparison.Ordinal)))
        .Where(t => Outermost(t).Name.StartsWith("Qwen", StringComparison.Ordinal) || Outermost(t).Name is "RopeIndex" or "MultimodalRotary")
        .Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);

    private static Type Outermost(Type t) => t.DeclaringType is { } d ? Outermost(d) : t;

    /// <summary>The family types <paramref name="assembly"/> references, from its metadata's type-reference table.</summary>
    private static List<string> FamilyTypesUsedBy(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        string FullName(TypeReference t) => t.ResolutionScope.Kind == HandleKind.TypeReference
            ? FullName(md.GetTypeReference((TypeReferenceHandle)t.ResolutionScope)) + "+" + md.GetString(t.Name)
            : md.GetString(t.Namespace) + "." + md.GetString(t.Name);
        return md.TypeReferences.Select(h => FullName(md.GetTypeReference(h))).Where(FamilyTypes.Contains).Distinct().Order().ToList();
    }

    [Fact]
    public void Training_uses_no_type_of_a_model_family()
    {
        var used = FamilyTypesUsedBy(typeof(FineR1.Training.Tapo.TapoOptions).Assembly);
        Assert.True(used.Count == 0, $"FineR1.Training uses {string.Join(", ", used)}; take IVisionLanguageModel (or add what is missing to the contract).");
    }

    [Fact]
    public void The_rule_sees_a_family_type_where_one_is_used()
    {
        // The demo builds and pretrains a tiny Qwen2.5-VL itself, so the same check must find the concrete model there.
        Assert.Contains("FineR1.Core.Modeling.Qwen2_5_VLForConditionalGeneration", FamilyTypes);
        Assert.Contains("FineR1.Core.Modeling.Qwen2_5_VLForConditionalGeneration", FamilyTypesUsedBy(typeof(ExperimentRunner).Assembly));
    }
}
