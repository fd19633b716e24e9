using System.Text;

namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// Byte-level BPE for one pre-token in O(n log n), the algorithm of HF <c>tokenizers</c>' <c>Word::merge_all</c>: the
/// byte symbols form a linked list, candidate pairs sit in a min-heap keyed by (merge rank, position), and each pop
/// merges one pair and queues the two pairs it creates. It gives the same ids as HF (and as Microsoft.ML.Tokenizers'
/// <c>BpeTokenizer</c>, which runs the same loop) because the order of merges is the same: lowest rank first, leftmost
/// first among equal ranks.
/// </summary>
/// <remarks>
/// Why it exists: Microsoft.ML.Tokenizers 2.0.1 removes the merged-away symbols one by one from an array after its
/// merge loop, which is quadratic in the pre-token's length. A run of 100,000 CJK characters without a space is one
/// pre-token of 300,000 bytes and took 10 s; <see cref="QwenTokenizer"/> sends pre-tokens longer than
/// <see cref="QwenTokenizer.LongPreTokenChars"/> here. Chunking such a run instead would change ids, because a merge
/// can span any chunk boundary.
/// <para>Worked example: "ababab" with merges (a b)→ab rank 0 and (ab ab)→abab rank 1: the heap holds (0,pos 0),
/// (0,pos 2), (0,pos 4); popping them gives ab·ab·ab, each pop queueing (1,…) for the new neighbours; then (1,pos 0)
/// merges to abab·ab, and the queued (1,pos 2) entry is stale (its left symbol was merged away) and is skipped.</para>
/// </remarks>
internal sealed class ByteLevelBpe
{
    private readonly int[] _byteIds;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;

    /// <summary>
    /// Builds from the vocabulary and the merges ("a b", in rank order) of a byte-level BPE tokenizer.json; null when the
    /// vocabulary lacks one of the 256 byte tokens (real byte-level files have all; for others the library's merge,
    /// which handles unknown bytes its own way, stays in use).
    /// </summary>
    public static ByteLevelBpe? TryCreate(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<string> merges)
    {
        var byteIds = new int[256];
        for (var c = 0; c < ByteLevelAlphabet.CharToByte.Length; c++)
        {
            var b = ByteLevelAlphabet.CharToByte[c];
            if (b < 0) continue;
            if (!vocabulary.TryGetValue(((char)c).ToString(), out var id)) return null;
            byteIds[b] = id;
        }
        return new ByteLevelBpe(byteIds, vocabulary, merges);
    }

    private ByteLevelBpe(int[] byteIds, IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<string> merges)
    {
        _byteIds = byteIds;
        _merges = new Dictionary<long, (int, int)>(merges.Count, MixedPairHash.Instance);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var space = merges[rank].IndexOf(' ');
            var left = merges[rank][..space];
            var right = merges[rank][(space + 1)..];
            _merges[Key(vocabulary[left], vocabulary[right])] = (rank, vocabulary[left + right]);
        }
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// long's own hash is <c>high ^ low</c>, which puts every pair of ids with the same XOR in one bucket (and made the
    /// merge table lookups slow); a Fibonacci multiply spreads the pairs.
    /// </summary>
    private sealed class MixedPairHash : IEqualityComparer<long>
    {
        public static readonly MixedPairHash Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long key) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> 32);
    }

    private struct Symbol
    {
        public int Id, Prev, Next;
        public bool Removed;
    }

    /// <summary>Appends the ids of one pre-token (already NFC-normalized; any length) to <paramref name="ids"/>.</summary>
    public void Encode(ReadOnlySpan<char> preToken, List<int> ids)
    {
        var bytes = Encoding.UTF8.GetBytes(preToken.ToArray());
        var symbols = new Symbol[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            symbols[i] = new Symbol { Id = _byteIds[bytes[i]], Prev = i - 1, Next = i + 1 < bytes.Length ? i + 1 : -1 };
        }

        // Min-heap on (rank, position), packed in one long: the lowest rank merges first, the leftmost among equal
        // ranks. Each entry also carries the id its merge makes, to recognise a stale entry when it is popped.
        var queue = new PriorityQueue<(int Position, int NewId), long>(bytes.Length);
        var initial = new List<((int, int), long)>(bytes.Length);
        for (var i = 0; i + 1 < symbols.Length; i++)
            if (_merges.TryGetValue(Key(symbols[i].Id, symbols[i + 1].Id), out var merge))
                initial.Add(((i, merge.NewId), Key(merge.Rank, i)));
        queue.EnqueueRange(initial);
        void Offer(int position)
        {
            var next = symbols[position].Next;
            if (next >= 0 && _merges.TryGetValue(Key(symbols[position].Id, symbols[next].Id), out var merge))
                queue.Enqueue((position, merge.NewId), Key(merge.Rank, position));
        }

        while (queue.TryDequeue(out var top, out _))
        {
            ref var left = ref symbols[top.Position];
            if (left.Removed || left.Next < 0) continue;
            // Stale entry: one side changed since it was queued, so the pair no longer makes the id it stood for.
            if (!_merges.TryGetValue(Key(left.Id, symbols[left.Next].Id), out var merge) || merge.NewId != top.NewId) continue;

            var rightIndex = left.Next;
            ref var right = ref symbols[rightIndex];
            left.Id = top.NewId;
            left.Next = right.Next;
            right.Removed = true;
            if (right.Next >= 0) symbols[right.Next].Prev = top.Position;
            if (left.Prev >= 0) Offer(left.Prev);
            Offer(top.Position);
        }

        for (var i = 0; i >= 0 && i < symbols.Length; i = symbols[i].Next) ids.Add(symbols[i].Id);
    }
}
