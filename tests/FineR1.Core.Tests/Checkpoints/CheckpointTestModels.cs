using System.Buffers.Binary;
using System.Text;
using FineR1.Core.Checkpoints;
using FineR1.Core.Modeling.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineR1.Core.Tests.Checkpoints;

/// <summary>A module whose state dict is exactly the given dotted names and shapes (nested submodules, HF-style).</summary>
internal sealed class NamedTensorModule : nn.Module
{
    private sealed class Node(string name) : nn.Module(name);

    private readonly Dictionary<string, nn.Module> _nodes = new(StringComparer.Ordinal);

    static NamedTensorModule() => FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();

    public NamedTensorModule() : base("root") { }

    /// <summary>Adds a parameter filled with zeros (or <paramref name="parameter"/>, possibly shared with another name).</summary>
    public Parameter Add(string name, long[] shape, ScalarType dtype = ScalarType.Float32, Parameter? parameter = null)
    {
        var dot = name.LastIndexOf('.');
        var owner = dot < 0 ? this : NodeFor(name[..dot]);
        parameter ??= nn.Parameter(zeros(shape, dtype));
        owner.register_parameter(name[(dot + 1)..], parameter);
        return parameter;
    }

    private nn.Module NodeFor(string path)
    {
        if (_nodes.TryGetValue(path, out var node)) return node;
        var dot = path.LastIndexOf('.');
        var parent = dot < 0 ? this : NodeFor(path[..dot]);
        node = new Node(path);
        parent.register_module(path[(dot + 1)..], node);
        _nodes[path] = node;
        return node;
    }

    /// <summary>A module with the names and shapes of a safetensors file, renamed by <paramref name="rename"/>.</summary>
    public static NamedTensorModule FromHeader(string file, Func<string, string>? rename = null, ScalarType? dtype = null)
    {
        using var f = SafetensorsFile.Open(file);
        var m = new NamedTensorModule();
        foreach (var e in f.Entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
            m.Add(rename?.Invoke(e.Name) ?? e.Name, e.Shape, dtype ?? SafetensorsFile.ToScalarType(e.DType));
        return m;
    }
}

/// <summary>Qwen2.5-VL-shaped toy with HF 5.x module names built from real TorchSharp layers.</summary>
internal sealed class TinyVl : nn.Module
{
    internal sealed class TinyVisual : nn.Module
    {
        public Linear proj = nn.Linear(6, 8);                                // weight [8, 6], bias [8]
        public TinyVisual() : base("visual") => RegisterComponents();
    }

    internal sealed class TinyLanguageModel : nn.Module
    {
        public Embedding embed_tokens = nn.Embedding(16, 8);                 // [16, 8]
        public ModuleList<Linear> layers = new(nn.Linear(8, 12, hasBias: false), nn.Linear(8, 12, hasBias: false));
        public Qwen2RMSNorm norm = new(8);
        public TinyLanguageModel() : base("language_model") => RegisterComponents();
    }

    internal sealed class TinyInner : nn.Module
    {
        public TinyVisual visual = new();
        public TinyLanguageModel language_model = new();
        public TinyInner() : base("model") => RegisterComponents();
    }

    static TinyVl() => FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();

    public TinyInner model = new();
    public Linear lm_head = nn.Linear(8, 16, hasBias: false);                // [16, 8]

    public TinyVl(bool tied, ScalarType dtype = ScalarType.Float32) : base("TinyVl")
    {
        _tied = tied;
        RegisterComponents();
        if (dtype != ScalarType.Float32) this.to(dtype);
        Retie();
    }

    private readonly bool _tied;

    /// <summary>Ties lm_head to embed_tokens (again: a dtype or device move may give each its own copy).</summary>
    public TinyVl Retie()
    {
        if (_tied) lm_head.weight = model.language_model.embed_tokens.weight;
        return this;
    }

    /// <summary>Fills every tensor with seeded random values.</summary>
    public TinyVl Randomize(int seed)
    {
        var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, p) in named_parameters()) p.copy_(randn(p.shape, generator: g));
        return this;
    }
}

internal static class CheckpointTestFiles
{
    static CheckpointTestFiles() => FineR1.Core.Native.TorchSharpNativeLoader.EnsureInstalled();

    public static string TinyA => TestPaths.Fixture("qwen2_5_vl", "tiny-a", "model.safetensors");

    /// <summary>Writes a safetensors file by hand: 8-byte length, the header text as given, then the data bytes.</summary>
    public static void WriteRaw(string path, string header, byte[] data, long? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(declaredLength ?? h.Length));
        File.WriteAllBytes(path, [.. len, .. h, .. data]);
    }

    /// <summary>True when both tensors have the same dtype, shape and bytes.</summary>
    public static bool BitEqual(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var ac = a.detach().cpu().contiguous();
        using var bc = b.detach().cpu().contiguous();
        return ac.bytes.SequenceEqual(bc.bytes);
    }

    public static Dictionary<string, Tensor> State(nn.Module m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
}
