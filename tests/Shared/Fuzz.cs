using System.Text;
using System.Text.Json.Nodes;

namespace FineR1.Tests;

/// <summary>
/// Seeded mutations for the fuzz tests: byte-level (bit flips, interesting bytes, cuts, duplicated and inserted runs)
/// and JSON-aware (a value replaced by an extreme number, a wrong type or a deep structure; a key removed or written
/// twice). The same seed gives the same cases, so a failure names its seed and replays.
/// </summary>
internal sealed class Fuzzer(int seed)
{
    private readonly Random _random = new(seed);

    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, (byte)'9', (byte)'"', (byte)'{', (byte)'-', (byte)'\\', (byte)'<'];

    private static readonly JsonNode?[] InterestingValues =
    [
        null, 0, -1, 1, 2, int.MaxValue, -2147483648L, 1L << 31, long.MaxValue, 1e308, -1e308, 1e-320, 0.5, -0.0,
        "abc", "", "<|im_end|>", new string('x', 10_000), true, false,
    ];

    public int Next(int max) => _random.Next(max);

    /// <summary>1–4 random byte-level edits of <paramref name="input"/>.</summary>
    public byte[] Bytes(byte[] input, int? onlyFirst = null)
    {
        var data = new List<byte>(input);
        for (int edits = 1 + _random.Next(4); edits > 0; edits--)
        {
            int span = Math.Max(1, Math.Min(onlyFirst ?? data.Count, data.Count));
            int at = _random.Next(span);
            switch (_random.Next(7))
            {
                case 0: if (data.Count > 0) data[at] ^= (byte)(1 << _random.Next(8)); break;
                case 1: if (data.Count > 0) data[at] = InterestingBytes[_random.Next(InterestingBytes.Length)]; break;
                case 2: if (data.Count > 0) data[at] = (byte)_random.Next(256); break;
                case 3: if (data.Count > at) data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(16))); break;
                case 4: data.InsertRange(Math.Min(at, data.Count), Enumerable.Range(0, 1 + _random.Next(8)).Select(_ => (byte)_random.Next(256))); break;
                case 5: if (data.Count > at) data.InsertRange(at, data.GetRange(at, Math.Min(data.Count - at, 1 + _random.Next(32)))); break;
                default:
                    if (data.Count < 2) break;
                    var cut = 1 + _random.Next(data.Count - 1);      // truncate
                    data.RemoveRange(cut, data.Count - cut);
                    break;
            }
        }
        return [.. data];
    }

    /// <summary>One JSON-aware edit of <paramref name="json"/> (or a byte-level one, one time in four).</summary>
    public string Json(string json)
    {
        if (_random.Next(4) == 0) return Encoding.UTF8.GetString(Bytes(Encoding.UTF8.GetBytes(json)));
        var root = JsonNode.Parse(json)!;
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[_random.Next(nodes.Count)];
        var parent = target.Parent;
        switch (_random.Next(5))
        {
            case 0 when parent is JsonObject o:
                o.Remove(target.GetPropertyName());
                break;
            case 1 when parent is JsonObject o:
                // a key written twice: JSON allows the text, readers must cope
                return root.ToJsonString().Replace($"\"{target.GetPropertyName()}\":", $"\"{target.GetPropertyName()}\":0,\"{target.GetPropertyName()}\":", StringComparison.Ordinal);
            case 2:
                Replace(target, Deep(_random.Next(2, 80)));
                break;
            default:
                Replace(target, InterestingValues[_random.Next(InterestingValues.Length)]?.DeepClone());
                break;
        }
        return root.ToJsonString();
    }

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonArray();
        for (int i = 0; i < depth; i++) node = new JsonArray(node);
        return node;
    }

    private static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject o: o[target.GetPropertyName()] = value; break;
            case JsonArray a: a[target.GetElementIndex()] = value; break;
        }
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        if (node.Parent is not null) into.Add(node);
        if (node is JsonObject o) foreach (var (_, v) in o) { if (v is not null) Collect(v, into); }
        else if (node is JsonArray a) foreach (var v in a) { if (v is not null) Collect(v, into); }
        if (into.Count == 0) into.Add(node);
    }

    /// <summary>
    /// Runs <paramref name="cases"/> cases; each may throw only <typeparamref name="TAllowed"/>. Returns how many threw it.
    /// A case that throws anything else fails the test, naming the seed and case.
    /// </summary>
    public static int Run<TAllowed>(int seed, int cases, Action<Fuzzer, int> @case) where TAllowed : Exception
    {
        var fuzz = new Fuzzer(seed);
        int refused = 0;
        for (int i = 0; i < cases; i++)
        {
            try { @case(fuzz, i); }
            catch (TAllowed) { refused++; }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {i}: {e.GetType().Name} is not a documented exception here: {e}");
            }
        }
        return refused;
    }
}
