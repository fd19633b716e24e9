using System.IO.Compression;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// The Qwen2 / Qwen2.5-VL tokenizer (byte-level BPE, NFC, Qwen2 pre-tokenization) read from an HF <c>tokenizer.json</c>,
/// giving the same ids as HuggingFace <c>tokenizers</c> for every valid string. BPE itself runs in
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>; added tokens, NFC and pre-tokenization follow HF's order:
/// added tokens are cut out of the raw text first (all of them, special or not), then each remaining piece is
/// NFC-normalized and split by <see cref="Qwen2PreTokenizer"/>.
/// </summary>
/// <example>
/// <code>
/// var tok = QwenTokenizer.Load("/models/Qwen2.5-VL-3B-Instruct");   // folder or tokenizer.json(.gz)
/// int[] ids = tok.Encode("Hello, world!");                           // [9707, 11, 1879, 0]
/// string text = tok.Decode(ids);                                     // "Hello, world!"
/// int imEnd = tok.ImEndId;                                           // 151645
/// </code>
/// </example>
public sealed class QwenTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly Lazy<BpeTokenizer> _inner;
    private readonly ByteLevelBpe? _longPreTokens;            // null for a vocabulary without all 256 byte tokens
    private readonly AddedTokenMatcher _addedMatcher;
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly string?[] _tokenById;
    private readonly byte[]?[] _bytesById;
    private readonly QwenTokenizerOptions _options;
    private readonly int[]? _closedIds;                       // closed vocabulary: compact id → original id
    private readonly Dictionary<int, int>? _compactById;      // closed vocabulary: original id → compact id

    private QwenTokenizer(TokenizerJson json, QwenTokenizerOptions options)
    {
        _options = options;
        _vocabulary = json.Vocabulary;
        var added = json.AddedTokens.Where(t => options.MaxAddedTokenId is not { } max || t.Id <= max).ToList();
        _addedByContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        _addedById = [];
        foreach (var token in added)
        {
            _addedByContent[token.Content] = token;
            _addedById[token.Id] = token;
        }
        AddedTokens = added;
        _addedMatcher = new AddedTokenMatcher(added.Select(t => t.Content));

        var maxId = _vocabulary.Values.Max();
        _tokenById = new string?[maxId + 1];
        _bytesById = new byte[]?[maxId + 1];
        foreach (var (token, id) in _vocabulary)
        {
            _tokenById[id] = token;
            _bytesById[id] = ByteLevelAlphabet.TokenToBytes(token);
        }

        // The text between added tokens is encoded by a BPE that knows no added tokens: what Encode left in a segment
        // is text (HF does not look for added tokens again after normalizing, and with split special tokens a segment
        // holds special-token strings that must stay text). Inner, with all added tokens, is built on first use.
        _bpe = BpeTokenizer.Create(new BpeOptions(_vocabulary)
        {
            Merges = json.Merges,
            ByteLevel = true,
            Normalizer = NfcNormalizer.Instance,
            PreTokenizer = new Qwen2PreTokenizer(),
        });
        var specialTokens = added.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        _inner = new Lazy<BpeTokenizer>(() => BpeTokenizer.Create(new BpeOptions(_vocabulary)
        {
            Merges = json.Merges,
            SpecialTokens = specialTokens,
            ByteLevel = true,
            Normalizer = NfcNormalizer.Instance,
            PreTokenizer = new Qwen2PreTokenizer(specialTokens.Keys),
        }));
        _longPreTokens = ByteLevelBpe.TryCreate(_vocabulary, json.Merges);
    }

    /// <summary>
    /// Pre-tokens longer than this (in UTF-16 chars) are merged by <see cref="ByteLevelBpe"/> (O(n log n), same ids) rather
    /// than by Microsoft.ML.Tokenizers, whose merge is quadratic in the pre-token length (a run of CJK text or emoji
    /// without spaces is one pre-token). Short ones keep the library's path and its word cache.
    /// </summary>
    internal int LongPreTokenChars { get; set; } = 256;

    private QwenTokenizer(QwenTokenizer full, int[] closedIds)
    {
        _bpe = full._bpe; _inner = full._inner; _longPreTokens = full._longPreTokens; LongPreTokenChars = full.LongPreTokenChars; _addedMatcher = full._addedMatcher; _addedByContent = full._addedByContent; _addedById = full._addedById;
        _vocabulary = full._vocabulary; _tokenById = full._tokenById; _bytesById = full._bytesById; _options = full._options;
        _closedIds = closedIds;
        _compactById = closedIds.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        AddedTokens = full.AddedTokens.Where(t => _compactById.ContainsKey(t.Id)).Select(t => t with { Id = _compactById[t.Id] }).ToList();
    }

    /// <summary>
    /// A tokenizer over a closed vocabulary: the same tokenization, but ids are renumbered 0…K−1 over the tokens that
    /// <paramref name="texts"/> use plus every special added token (<c>&lt;|endoftext|&gt;</c> … <c>&lt;|video_pad|&gt;</c>),
    /// in the order of their original ids. A model for a closed world (the quickstart's FGVR-Synth) then needs a K-row
    /// embedding instead of 151,936 rows — on a CPU that row count, not the transformer, dominates a tiny model's step.
    /// Encoding a text that needs a token outside the set throws; decoding maps ids back to the original tokens.
    /// </summary>
    /// <example>
    /// <code>
    /// var closed = tokenizer.WithClosedVocabulary(["Hello, world!"]);
    /// closed.Encode("Hello, world!");     // [3, 1, 2, 0]: original ids 9707, 11, 1879, 0, renumbered in ascending order
    /// closed.ImEndId;                     // the compact id of &lt;|im_end|&gt;
    /// closed.OriginalId(closed.ImEndId);  // 151645
    /// </code>
    /// </example>
    /// <exception cref="InvalidOperationException">This tokenizer already has a closed vocabulary.</exception>
    public QwenTokenizer WithClosedVocabulary(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return WithClosedVocabulary(texts.SelectMany(Encode));
    }

    /// <summary>
    /// <see cref="WithClosedVocabulary(IEnumerable{string})"/> from token ids of this tokenizer — e.g. every id of every
    /// encoded chat, which is safer than texts when a chat template encodes its pieces separately.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id has no token.</exception>
    /// <exception cref="InvalidOperationException">This tokenizer already has a closed vocabulary.</exception>
    public QwenTokenizer WithClosedVocabulary(IEnumerable<int> originalIds)
    {
        ArgumentNullException.ThrowIfNull(originalIds);
        if (_closedIds is not null) throw new InvalidOperationException("this tokenizer already has a closed vocabulary.");
        var ids = new SortedSet<int>(_addedById.Values.Where(t => t.Special).Select(t => t.Id));
        foreach (var id in originalIds)
        {
            if (!_addedById.ContainsKey(id) && !(id >= 0 && id < _tokenById.Length && _tokenById[id] is not null))
                throw new ArgumentOutOfRangeException(nameof(originalIds), id, "not a token id of this tokenizer.");
            ids.Add(id);
        }
        return new QwenTokenizer(this, [.. ids]);
    }

    /// <summary>For a closed vocabulary (<see cref="WithClosedVocabulary(IEnumerable{string})"/>): the original id of each compact id; null otherwise.</summary>
    public IReadOnlyList<int>? ClosedVocabulary => _closedIds;

    /// <summary>The original tokenizer id of <paramref name="id"/> (itself unless the vocabulary is closed).</summary>
    public int OriginalId(int id) => _closedIds is null ? id
        : id >= 0 && id < _closedIds.Length ? _closedIds[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the closed vocabulary of {_closedIds.Length} ids.");

    private int Compact(int id, string text) => _compactById is null ? id
        : _compactById.TryGetValue(id, out var c) ? c
        : throw new ArgumentException($"token {id} (\"{OriginalTokenText(id)}\") of \"{Shorten(text)}\" is not in the closed vocabulary of {_closedIds!.Length} ids; " +
                                      "build the closed vocabulary from every text the model will see.", nameof(text));

    private string OriginalTokenText(int originalId) => _addedById.TryGetValue(originalId, out var a) ? a.Content
        : originalId >= 0 && originalId < _bytesById.Length && _bytesById[originalId] is { } b ? Encoding.UTF8.GetString(b) : "?";

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>
    /// Loads <c>tokenizer.json</c> from a model folder, or the file itself; a name ending in <c>.gz</c> is read as gzip.
    /// A folder without <c>tokenizer.json</c> but with <c>tokenizer.json.gz</c> uses the latter.
    /// </summary>
    /// <exception cref="TokenizerFormatException">The file is missing, unreadable, not JSON, or not a byte-level BPE tokenizer.</exception>
    public static QwenTokenizer Load(string path, QwenTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = path;
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, "tokenizer.json");
            if (!File.Exists(file) && File.Exists(file + ".gz")) file += ".gz";
        }
        if (!File.Exists(file)) throw new TokenizerFormatException("tokenizer.json not found", file);
        try
        {
            using var stream = IO.InputFile.OpenRead(file, MaxFileBytes, message => new TokenizerFormatException(message, file));
            return FromStream(stream, file, gzip: file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase), options);
        }
        catch (IOException e) { throw new TokenizerFormatException($"cannot read: {e.Message}", file, e); }
        catch (InvalidDataException e) { throw new TokenizerFormatException($"not a valid gzip file: {e.Message}", file, e); }
    }

    /// <summary>Largest tokenizer.json read, also after gzip decompression (256 MiB; Qwen's is 11 MB).</summary>
    public const long MaxFileBytes = 256L * 1024 * 1024;

    /// <summary>Reads a <c>tokenizer.json</c> from <paramref name="stream"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="TokenizerFormatException">The content is not JSON, not a byte-level BPE tokenizer, or longer than <see cref="MaxFileBytes"/>.</exception>
    public static QwenTokenizer FromStream(Stream stream, string sourceName = "tokenizer.json", bool gzip = false, QwenTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        try
        {
            using var source = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : null;
            IO.InputFile.CopyAtMost(source ?? stream, buffer, MaxFileBytes,
                message => new TokenizerFormatException($"{message} (decompressed): not a tokenizer.json, or a decompression bomb", sourceName));
        }
        catch (InvalidDataException e) { throw new TokenizerFormatException($"not a valid gzip file: {e.Message}", sourceName, e); }
        var json = TokenizerJson.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), sourceName);
        try { return new QwenTokenizer(json, options ?? QwenTokenizerOptions.Default); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            // e.g. two added tokens with the same content, which the BPE library refuses
            throw new TokenizerFormatException($"inconsistent content ({e.Message})", sourceName, e);
        }
    }

    /// <summary>
    /// The Microsoft.ML.Tokenizers tokenizer underneath (vocabulary, merges, all added tokens, NFC, <see cref="Qwen2PreTokenizer"/>),
    /// for APIs that take a <see cref="Tokenizer"/>. It normalizes the whole text before cutting out added tokens, so it
    /// differs from <see cref="Encode(string)"/> only where NFC would join an added token with the character after it
    /// (<c>"&lt;|im_end|&gt;\u0338"</c>). It always speaks the original ids, also for a closed vocabulary.
    /// </summary>
    public Tokenizer Inner => _inner.Value;

    /// <summary>The added tokens kept (after <see cref="QwenTokenizerOptions.MaxAddedTokenId"/>), in file order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Number of ids: the BPE vocabulary plus the added tokens (151,665 for Qwen2.5-VL).</summary>
    public int VocabularySize => _closedIds?.Length ?? _vocabulary.Count + _addedById.Keys.Count(id => !(id < _tokenById.Length && _tokenById[id] is not null));

    /// <summary><c>&lt;|endoftext|&gt;</c> id (151643).</summary>
    public int EndOfTextId => GetSpecialTokenId(QwenSpecialTokens.EndOfText);
    /// <summary><c>&lt;|im_start|&gt;</c> id (151644).</summary>
    public int ImStartId => GetSpecialTokenId(QwenSpecialTokens.ImStart);
    /// <summary><c>&lt;|im_end|&gt;</c> id (151645).</summary>
    public int ImEndId => GetSpecialTokenId(QwenSpecialTokens.ImEnd);
    /// <summary><c>&lt;|vision_start|&gt;</c> id (151652).</summary>
    public int VisionStartId => GetSpecialTokenId(QwenSpecialTokens.VisionStart);
    /// <summary><c>&lt;|vision_end|&gt;</c> id (151653).</summary>
    public int VisionEndId => GetSpecialTokenId(QwenSpecialTokens.VisionEnd);
    /// <summary><c>&lt;|image_pad|&gt;</c> id (151655).</summary>
    public int ImagePadId => GetSpecialTokenId(QwenSpecialTokens.ImagePad);
    /// <summary><c>&lt;|video_pad|&gt;</c> id (151656).</summary>
    public int VideoPadId => GetSpecialTokenId(QwenSpecialTokens.VideoPad);

    /// <summary>The id of an added token by its content, e.g. <c>"&lt;|im_end|&gt;"</c> → 151645.</summary>
    /// <exception cref="KeyNotFoundException"><paramref name="name"/> is not an added token of this tokenizer.</exception>
    public int GetSpecialTokenId(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _addedByContent.TryGetValue(name, out var token)
            ? Compact(token.Id, name)
            : throw new KeyNotFoundException($"\"{name}\" is not an added token of this tokenizer (it has {_addedByContent.Count}, e.g. {QwenSpecialTokens.ImEnd}).");
    }

    /// <summary>
    /// The id of a token string: an added token's content, or a BPE vocabulary entry in its byte-level spelling
    /// (<c>"Ġworld"</c> = 1879); null when there is none (HF <c>convert_tokens_to_ids</c> without an unk token).
    /// </summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        int? found = _addedByContent.TryGetValue(token, out var added) ? added.Id : _vocabulary.TryGetValue(token, out var id) ? id : null;
        return found is { } f && _compactById is not null ? (_compactById.TryGetValue(f, out var c) ? c : null) : found;
    }

    /// <summary>The token string of an id (byte-level spelling for BPE tokens); null for an id that has none.</summary>
    public string? IdToToken(int id)
    {
        if (_closedIds is not null) { if (id < 0 || id >= _closedIds.Length) return null; id = _closedIds[id]; }
        if (_addedById.TryGetValue(id, out var added)) return added.Content;
        return id >= 0 && id < _tokenById.Length ? _tokenById[id] : null;
    }

    /// <summary>Whether <paramref name="id"/> is an added token flagged <c>special</c> (dropped by <c>skip_special_tokens</c>).</summary>
    public bool IsSpecial(int id) => (_closedIds is null || id >= 0 && id < _closedIds.Length) && _addedById.TryGetValue(_closedIds is null ? id : _closedIds[id], out var t) && t.Special;

    /// <summary>
    /// Encodes <paramref name="text"/> like HF <c>tokenizer.encode(text, add_special_tokens=False)</c>: no BOS/EOS is
    /// added (Qwen has none); added tokens written in the text (<c>&lt;|im_start|&gt;</c>, <c>&lt;tool_call&gt;</c>) become
    /// their ids. Empty text gives an empty array. For text a user wrote, use
    /// <see cref="Encode(string, bool)"/> with <c>splitSpecialTokens: true</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> has a lone UTF-16 surrogate and
    /// <see cref="QwenTokenizerOptions.LoneSurrogates"/> is <see cref="LoneSurrogateHandling.Throw"/>.</exception>
    public int[] Encode(string text) => Encode(text, splitSpecialTokens: false);

    /// <summary>
    /// <see cref="Encode(string)"/>, where <paramref name="splitSpecialTokens"/> = true reads special added tokens
    /// written in the text (<c>&lt;|im_end|&gt;</c>, <c>&lt;|image_pad|&gt;</c>: those flagged <c>special</c>) as plain
    /// text, like HF's <c>split_special_tokens=True</c>: <c>"&lt;|im_end|&gt;"</c> becomes the ids of its characters, so a
    /// question cannot end its chat turn or add an image placeholder. Non-special added tokens (<c>&lt;tool_call&gt;</c>)
    /// still map to their ids, as in HF.
    /// </summary>
    /// <exception cref="ArgumentException">A lone UTF-16 surrogate (see <see cref="Encode(string)"/>).</exception>
    public int[] Encode(string text, bool splitSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text, splitSpecialTokens ? [(0, text.Length)] : []);
    }

    /// <summary>
    /// Encodes <paramref name="text"/> where special added tokens are read as plain text when they start inside one of
    /// <paramref name="plainText"/> (start, length; ascending): the chat template's own markup keeps its control tokens
    /// while the message text between them is text.
    /// </summary>
    internal int[] Encode(string text, IReadOnlyList<(int Start, int Length)> plainText)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        text = HandleLoneSurrogates(text);

        var ids = new List<int>(text.Length / 3 + 4);
        var position = 0;
        var search = 0;
        var range = 0;
        while (position < text.Length)
        {
            var tokenStart = _addedMatcher.FindNext(text, search, out var token);
            if (tokenStart >= 0 && _addedByContent[token].Special && IsInside(tokenStart))
            {
                search = tokenStart + token.Length;   // HF skips the whole match and searches on after it
                continue;
            }
            var segmentEnd = tokenStart < 0 ? text.Length : tokenStart;
            if (segmentEnd > position) EncodeSegment(text[position..segmentEnd], ids);
            if (tokenStart < 0) break;
            ids.Add(_addedByContent[token].Id);
            position = search = tokenStart + token.Length;
        }
        if (_compactById is not null) for (int i = 0; i < ids.Count; i++) ids[i] = Compact(ids[i], text);
        return [.. ids];

        bool IsInside(int index)
        {
            while (range < plainText.Count && plainText[range].Start + plainText[range].Length <= index) range++;
            return range < plainText.Count && plainText[range].Start <= index;
        }
    }

    private void EncodeSegment(string segment, List<int> ids)
    {
        // NFC per piece between added tokens, as HF normalizes after extracting added tokens (normalized=false).
        var normalized = NfcNormalizer.Instance.Normalize(segment);
        var preTokens = new List<(int Offset, int Length)>();
        Qwen2PreTokenizer.SplitSegment(normalized, 0, normalized.Length, preTokens);
        // A long pre-token goes to the linear-time merge; the runs of short pre-tokens between long ones go to the
        // library in one call each. The library splits such a run again, into the same pre-tokens: the split regex has
        // no look-behind, and a run ends where a pre-token of the whole segment ends (at a long pre-token's start).
        var runStart = 0;
        foreach (var (offset, length) in preTokens)
        {
            if (length <= LongPreTokenChars || _longPreTokens is null) continue;
            if (offset > runStart) EncodeShortPreTokens(normalized.AsSpan(runStart, offset - runStart), ids);
            _longPreTokens.Encode(normalized.AsSpan(offset, length), ids);
            runStart = offset + length;
        }
        if (runStart < normalized.Length) EncodeShortPreTokens(normalized.AsSpan(runStart), ids);
    }

    private void EncodeShortPreTokens(ReadOnlySpan<char> text, List<int> ids) =>
        ids.AddRange(_bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));

    private string HandleLoneSurrogates(string text)
    {
        var bad = IndexOfLoneSurrogate(text);
        if (bad < 0) return text;
        if (_options.LoneSurrogates == LoneSurrogateHandling.Throw)
            throw new ArgumentException(
                $"The text has a lone UTF-16 surrogate (U+{(int)text[bad]:X4}) at index {bad}; it cannot be UTF-8 and HF cannot tokenize it. " +
                "Set QwenTokenizerOptions.LoneSurrogates = ReplaceWithReplacementCharacter to encode it as U+FFFD.", nameof(text));
        var chars = text.ToCharArray();
        for (var i = bad; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) { i++; continue; }
            if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    private static int IndexOfLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return i;
        }
        return -1;
    }

    /// <summary>
    /// Decodes ids like HF <c>tokenizer.decode(ids, skip_special_tokens=...)</c> with Qwen's ByteLevel decoder: the bytes
    /// of all tokens are joined and read as UTF-8, each invalid sequence becoming U+FFFD (a sequence cut inside a
    /// multi-byte character decodes to U+FFFD, as in HF). <paramref name="skipSpecialTokens"/> drops added tokens flagged
    /// <c>special</c> (151643–151656), not <c>&lt;tool_call&gt;</c> and the other non-special added tokens. Ids with no token
    /// (e.g. the model's padded vocabulary rows 151665–151935) are skipped, as HF does.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var rawId in ids)
        {
            int id = rawId;
            if (_closedIds is not null) { if (id < 0 || id >= _closedIds.Length) continue; id = _closedIds[id]; }
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecialTokens && added.Special)) bytes.AddRange(Encoding.UTF8.GetBytes(added.Content));
            }
            else if (id >= 0 && id < _bytesById.Length && _bytesById[id] is { } tokenBytes) bytes.AddRange(tokenBytes);
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }
}
