using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace FineR1.Core.Checkpoints;

/// <summary>A tensor's entry in a safetensors header.</summary>
/// <param name="Name">Key, e.g. <c>model.language_model.layers.0.mlp.up_proj.weight</c>.</param>
/// <param name="DType">Safetensors dtype name (<c>F32</c>, <c>BF16</c>, <c>F16</c>, <c>I64</c>…).</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Begin">Start offset inside the data section.</param>
/// <param name="End">End offset (exclusive) inside the data section.</param>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// Reads one <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header, then raw tensor bytes.
/// Tensors are read one at a time straight from the file, so loading never holds a second copy of the checkpoint.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly long _dataStart;

    /// <summary>The file path.</summary>
    public string Path { get; }
    /// <summary>Entries by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(string path, FileStream stream, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _stream = stream; _dataStart = dataStart; Entries = entries; Metadata = metadata;
    }

    /// <summary>Opens and validates the header of a safetensors file.</summary>
    /// <exception cref="CheckpointException">Missing file, truncated or corrupt header, bad offsets, unknown dtype.</exception>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException("file not found.", path);
        // Devices, FIFOs and /proc files report 0 bytes too: refused before opening (IO.InputFile explains why).
        if (new FileInfo(path).Length == 0)
            throw new CheckpointException("empty file (0 bytes) or not a regular file: not a safetensors file (interrupted download or copy?).", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        try
        {
            long length = stream.Length;
            if (length == 0) throw new CheckpointException("empty file (0 bytes): not a safetensors file (interrupted download or copy?).", path);
            if (length < 8) throw new CheckpointException($"truncated: {length} bytes, shorter than the 8-byte header length.", path);
            Span<byte> lenBytes = stackalloc byte[8];
            stream.ReadExactly(lenBytes);
            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            if (headerLen > (ulong)(length - 8) || headerLen > 100_000_000)
                throw new CheckpointException($"header length {headerLen} runs past the end of the file ({length} bytes).", path);
            if (headerLen < 2)
                throw new CheckpointException($"header length {headerLen} is too small for a JSON header.", path);
            var header = new byte[headerLen];
            stream.ReadExactly(header);
            if (header[0] != (byte)'{')
                throw new CheckpointException("corrupt header: it does not start with '{' (not a safetensors file?).", path);
            long dataStart = 8 + (long)headerLen;
            Dictionary<string, SafetensorsEntry> entries;
            Dictionary<string, string> metadata;
            try { (entries, metadata) = ParseHeader(header, path, length - dataStart); }
            catch (InvalidOperationException e)
            {
                // System.Text.Json reports invalid UTF-8 inside a string only when the string is read
                throw new CheckpointException($"corrupt header: {e.Message}", path, e);
            }
            return new SafetensorsFile(path, stream, dataStart, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Bytes per element of a safetensors dtype, or throws for an unknown one.</summary>
    public static int ElementSize(string dtype, string? path = null) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new CheckpointException($"unknown dtype '{dtype}'.", path),
    };

    /// <summary>The TorchSharp scalar type of a safetensors dtype.</summary>
    public static ScalarType ToScalarType(string dtype, string? path = null) => dtype switch
    {
        "F64" => ScalarType.Float64, "F32" => ScalarType.Float32, "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "I16" => ScalarType.Int16, "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool,
        _ => throw new CheckpointException($"dtype '{dtype}' is not supported.", path),
    };

    /// <summary>The safetensors dtype name of a TorchSharp scalar type.</summary>
    public static string FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16", ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"{type} cannot be stored in safetensors."),
    };

    /// <summary>
    /// Reads a tensor into a new CPU tensor of its stored dtype (then converted to <paramref name="dtype"/> and moved to
    /// <paramref name="device"/> when given).
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new CheckpointException($"tensor '{name}' not found.", Path);
        var cpu = torch.empty(e.Shape, ToScalarType(e.DType, Path));
        ReadInto(e, cpu);
        if ((dtype is null || dtype == cpu.dtype) && (device is null || device.type == DeviceType.CPU)) return cpu;
        using (cpu) return cpu.to(dtype ?? cpu.dtype, device ?? CPU);
    }

    /// <summary>
    /// Copies the bytes of <paramref name="entry"/> into a contiguous CPU tensor of the same byte size, straight into
    /// the tensor's own memory (no intermediate buffer). Tensors over 2 GiB are read in 1 GiB pieces.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is not a contiguous CPU tensor of the entry's byte size.</exception>
    /// <exception cref="CheckpointException">The file ended early (it was truncated after it was opened).</exception>
    public void ReadInto(SafetensorsEntry entry, Tensor destination)
    {
        long bytes = entry.End - entry.Begin;
        if (destination.device_type != DeviceType.CPU || !destination.is_contiguous()
            || destination.NumberOfElements * destination.ElementSize != bytes)
            throw new ArgumentException($"destination for '{entry.Name}' must be a contiguous CPU tensor of {bytes} bytes.");
        long position = _dataStart + entry.Begin;
        TensorMemory.ForEachChunk(destination, span =>
        {
            while (span.Length > 0)
            {
                int n = RandomAccess.Read(_stream.SafeFileHandle, span, position);
                if (n <= 0)
                    throw new CheckpointException($"tensor '{entry.Name}': the file ended early (truncated while open?).", Path);
                position += n;
                span = span[n..];
            }
        });
    }

    private static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(byte[] header, string path, long dataLength)
    {
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new CheckpointException($"corrupt header (not JSON): {e.Message}", path, e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException("corrupt header: not a JSON object.", path);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                    continue;
                }
                try
                {
                    var v = prop.Value;
                    string dtype = v.GetProperty("dtype").GetString() ?? "";
                    long[] shape = v.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                    var offs = v.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                    if (offs.Length != 2) throw new CheckpointException($"tensor '{prop.Name}': data_offsets must have two numbers.", path);
                    int size = ElementSize(dtype, path);
                    if (shape.Any(d => d < 0)) throw new CheckpointException($"tensor '{prop.Name}': negative dimension.", path);
                    long count = shape.Aggregate(1L, (a, b) => checked(a * b));
                    if (offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLength)
                        throw new CheckpointException($"tensor '{prop.Name}': data_offsets [{offs[0]}, {offs[1]}] out of range (data section is {dataLength} bytes).", path);
                    if (offs[1] - offs[0] != checked(count * size))
                        throw new CheckpointException($"tensor '{prop.Name}': {offs[1] - offs[0]} bytes for shape [{string.Join(", ", shape)}] {dtype} ({count * size} expected).", path);
                    if (entries.ContainsKey(prop.Name))
                        throw new CheckpointException($"tensor '{prop.Name}' is listed twice in the header.", path);
                    entries[prop.Name] = new SafetensorsEntry(prop.Name, dtype, shape, offs[0], offs[1]);
                }
                catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
                {
                    throw new CheckpointException($"tensor '{prop.Name}': malformed header entry ({e.Message}).", path, e);
                }
            }
        }
        // Overlapping tensors would alias each other's bytes: reject them.
        SafetensorsEntry? prev = null;
        foreach (var e in entries.Values.OrderBy(e => e.Begin))
        {
            if (prev is not null && e.Begin < prev.End && e.End > e.Begin)
                throw new CheckpointException($"tensors '{prev.Name}' and '{e.Name}' overlap.", path);
            if (e.End > e.Begin) prev = e;
        }
        return (entries, metadata);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
