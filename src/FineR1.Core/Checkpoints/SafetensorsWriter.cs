using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>
/// Writes one <c>.safetensors</c> file byte for byte as the Rust <c>safetensors</c> library (and so
/// transformers' <c>save_pretrained</c>) does: tensors ordered by dtype alignment (largest first) then by name,
/// a compact JSON header with <c>__metadata__</c> first and each entry as <c>dtype</c>, <c>shape</c>,
/// <c>data_offsets</c>, padded with spaces to a multiple of 8 bytes, then the raw little-endian tensor bytes.
/// </summary>
/// <example>
/// Header of a file with one F32 tensor <c>w</c> of shape [2, 3] (72 bytes, 1 space of padding):
/// <code>{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}} </code>
/// </example>
public static class SafetensorsWriter
{
    /// <summary>The metadata transformers writes into every PyTorch checkpoint.</summary>
    public static IReadOnlyDictionary<string, string> PyTorchMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> atomically (temporary file + rename).
    /// Floating-point tensors are stored as <paramref name="floatingDType"/> when given; each tensor is copied to
    /// the CPU (and converted) one at a time while writing.
    /// </summary>
    /// <returns>The number of tensor data bytes written.</returns>
    /// <exception cref="ArgumentException">Two tensors with the same name.</exception>
    public static long Write(string path, IReadOnlyList<KeyValuePair<string, Tensor>> tensors,
        ScalarType? floatingDType = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var layout = Layout(tensors, floatingDType);
        var header = HeaderBytes(layout, metadata ?? PyTorchMetadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var item in layout) WriteData(stream, item);
        });
        return layout.Sum(l => l.Bytes);
    }

    /// <summary>Bytes <paramref name="tensor"/> takes when written with <paramref name="floatingDType"/>.</summary>
    public static long StoredBytes(Tensor tensor, ScalarType? floatingDType = null) =>
        tensor.NumberOfElements * SafetensorsFile.ElementSize(SafetensorsFile.FromScalarType(StoredType(tensor, floatingDType)));

    internal static ScalarType StoredType(Tensor tensor, ScalarType? floatingDType) =>
        floatingDType is { } f && torch.is_floating_point(tensor.dtype) ? f : tensor.dtype;

    private sealed record Item(string Name, Tensor Tensor, ScalarType Stored, string DType, long[] Shape, long Begin, long Bytes);

    /// <summary>Sort order of the Rust <c>Dtype</c> enum; safetensors writes higher values first.</summary>
    private static int Rank(string dtype) => dtype switch
    {
        "BOOL" => 0, "U8" => 1, "I8" => 2, "F8_E5M2" => 3, "F8_E4M3" => 4, "I16" => 5, "U16" => 6, "F16" => 7,
        "BF16" => 8, "I32" => 9, "U32" => 10, "F32" => 11, "F64" => 12, "I64" => 13, "U64" => 14, _ => -1,
    };

    private static List<Item> Layout(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, ScalarType? floatingDType)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = new List<Item>();
        foreach (var (name, tensor) in tensors)
        {
            if (!seen.Add(name)) throw new ArgumentException($"tensor name '{name}' given twice.", nameof(tensors));
            var stored = StoredType(tensor, floatingDType);
            var dtype = SafetensorsFile.FromScalarType(stored);
            items.Add(new Item(name, tensor, stored, dtype, tensor.shape, 0, tensor.NumberOfElements * SafetensorsFile.ElementSize(dtype)));
        }
        items.Sort((a, b) =>
        {
            int byType = Rank(b.DType).CompareTo(Rank(a.DType));
            return byType != 0 ? byType : string.CompareOrdinal(a.Name, b.Name);
        });
        long offset = 0;
        for (int i = 0; i < items.Count; i++)
        {
            items[i] = items[i] with { Begin = offset };
            offset += items[i].Bytes;
        }
        return items;
    }

    private static byte[] HeaderBytes(List<Item> items, IReadOnlyDictionary<string, string> metadata)
    {
        var json = new StringBuilder("{");
        bool first = true;
        if (metadata.Count > 0)
        {
            json.Append("\"__metadata__\":{");
            json.AppendJoin(',', metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{Quote(m.Key)}:{Quote(m.Value)}"));
            json.Append('}');
            first = false;
        }
        foreach (var item in items)
        {
            if (!first) json.Append(',');
            first = false;
            json.Append(Quote(item.Name)).Append(":{\"dtype\":").Append(Quote(item.DType)).Append(",\"shape\":[")
                .AppendJoin(',', item.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))
                .Append("],\"data_offsets\":[").Append(item.Begin.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append((item.Begin + item.Bytes).ToString(CultureInfo.InvariantCulture)).Append("]}");
        }
        json.Append('}');
        var bytes = Encoding.UTF8.GetBytes(json.ToString());
        int padding = (8 - bytes.Length % 8) % 8;              // as safetensors: spaces up to a multiple of 8
        return [.. bytes, .. Enumerable.Repeat((byte)' ', padding)];
    }

    /// <summary>A JSON string as serde_json writes it: only quote, backslash and control characters escaped.</summary>
    private static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static void WriteData(FileStream stream, Item item)
    {
        if (item.Bytes == 0) return;
        using var scope = torch.NewDisposeScope();
        var t = item.Tensor.detach();
        if (t.dtype != item.Stored) t = t.to(item.Stored);
        if (t.device_type != DeviceType.CPU) t = t.cpu();
        if (!t.is_contiguous()) t = t.contiguous();
        TensorMemory.ForEachChunk(t, span => stream.Write(span));
    }
}
