using System.Text;
using System.Text.RegularExpressions;
using FineR1.Core.Configuration;
using Microsoft.ML.Tokenizers;

namespace FineR1.Inference.Siglip;

/// <summary>
/// HF <c>SiglipTokenizer</c> (slow, SentencePiece <c>spiece.model</c>) with the padding SigLIP was trained with: every
/// text becomes exactly <see cref="MaxLength"/> ids — pieces, then <c>&lt;/s&gt;</c>, then <c>&lt;/s&gt;</c> padding.
/// </summary>
/// <remarks>
/// HF's pipeline, reproduced step by step: lowercase (<c>do_lower_case</c>); prepend <c>▁</c>; remove Python's
/// <c>string.punctuation</c>; collapse whitespace runs to one space and strip; SentencePiece with
/// <c>add_dummy_prefix</c> off (spaces become <c>▁</c>); truncate to <c>max_length − 1</c>; append <c>&lt;/s&gt;</c>;
/// pad with <c>&lt;/s&gt;</c>. Example: <c>"Black-footed  Albatross!"</c> → <c>"▁blackfooted▁albatross"</c> → pieces.
/// A leading space survives as an extra <c>▁</c> piece, exactly as in HF (<c>" a"</c> → <c>"▁▁a"</c>).
/// SentencePiece's <c>nmt_nfkc</c> character map is approximated by Unicode NFKC (identical for ASCII class names).
/// </remarks>
public sealed partial class SiglipTokenizer
{
    private const char SpieceUnderline = '\u2581';
    private const string PythonPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private readonly SentencePieceTokenizer _sp;

    /// <summary>Length every encoding is padded or truncated to (64 for SigLIP).</summary>
    public int MaxLength { get; }
    /// <summary>Id of <c>&lt;/s&gt;</c>, appended to every text.</summary>
    public int EosId { get; }
    /// <summary>Id used for padding (<c>&lt;/s&gt;</c> in SigLIP).</summary>
    public int PadId { get; }

    private SiglipTokenizer(SentencePieceTokenizer sp, int maxLength, int eosId, int padId)
    {
        _sp = sp; MaxLength = maxLength; EosId = eosId; PadId = padId;
    }

    /// <summary>
    /// Loads a SentencePiece model (<c>spiece.model</c>; a folder is searched for <c>spiece.model</c> then
    /// <c>tokenizer.model</c>).
    /// </summary>
    /// <exception cref="ConfigurationException">Missing or unreadable model, or no <c>&lt;/s&gt;</c> piece.</exception>
    public static SiglipTokenizer Load(string fileOrFolder, int maxLength = 64)
    {
        string path = fileOrFolder;
        if (Directory.Exists(fileOrFolder))
            path = new[] { "spiece.model", "tokenizer.model" }.Select(n => Path.Combine(fileOrFolder, n)).FirstOrDefault(File.Exists)
                   ?? throw new ConfigurationException("no spiece.model or tokenizer.model in the folder.", fileOrFolder);
        if (!File.Exists(path)) throw new ConfigurationException("SentencePiece model not found.", path);
        using var stream = File.OpenRead(path);
        return Create(stream, maxLength, path);
    }

    /// <summary>Creates the tokenizer from a SentencePiece model stream; <paramref name="path"/> only names errors.</summary>
    public static SiglipTokenizer Create(Stream model, int maxLength = 64, string? path = null)
    {
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), "max_length must be at least 1.");
        SentencePieceTokenizer sp;
        try
        {
            using var buffer = new MemoryStream();
            model.CopyTo(buffer);
            var patched = SentencePieceModelPatch.EnsureBosPiece(buffer.ToArray());
            sp = SentencePieceTokenizer.Create(new MemoryStream(patched), addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ConfigurationException($"not a readable SentencePiece model: {e.Message}", path, e);
        }
        if (!sp.Vocabulary.TryGetValue("</s>", out int eos))
            throw new ConfigurationException("the SentencePiece model has no '</s>' piece.", path);
        return new SiglipTokenizer(sp, maxLength, eos, eos);
    }

    /// <summary>The text exactly as SentencePiece receives it (lowercased, punctuation removed, <c>▁</c> for spaces).</summary>
    public static string Normalize(string text)
    {
        // tokenize(): "▁" + text with "▁" turned into spaces; PreTrainedTokenizer lowercases (do_lower_case=True).
        string s = SpieceUnderline + text.Replace(SpieceUnderline, ' ').ToLowerInvariant();
        // canonicalize_text(): drop string.punctuation, collapse \s+ to one space, strip (the leading ▁ is not whitespace).
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) if (!PythonPunctuation.Contains(c)) sb.Append(c);
        s = Whitespace().Replace(sb.ToString(), " ").Trim();
        // SentencePiece normaliser: NFKC, then spaces escaped as ▁ (add_dummy_prefix is switched off by HF).
        return s.Normalize(NormalizationForm.FormKC).Replace(' ', SpieceUnderline);
    }

    /// <summary>Token ids of <paramref name="text"/> without <c>&lt;/s&gt;</c> or padding.</summary>
    public IReadOnlyList<int> EncodePieces(string text) =>
        _sp.EncodeToIds(Normalize(text), addBeginningOfSentence: false, addEndOfSentence: false,
            considerPreTokenization: false, considerNormalization: false);

    /// <summary>
    /// <see cref="MaxLength"/> ids: pieces (truncated to <c>MaxLength − 1</c>), <c>&lt;/s&gt;</c>, then padding —
    /// HF's <c>padding="max_length", truncation=True</c>.
    /// </summary>
    public long[] Encode(string text)
    {
        var pieces = EncodePieces(text);
        var ids = new long[MaxLength];
        int n = Math.Min(pieces.Count, MaxLength - 1);
        for (int i = 0; i < n; i++) ids[i] = pieces[i];
        ids[n] = EosId;
        for (int i = n + 1; i < MaxLength; i++) ids[i] = PadId;
        return ids;
    }

    /// <summary>The attention mask HF returns with <see cref="Encode"/>: 1 up to and including <c>&lt;/s&gt;</c>, 0 on padding.</summary>
    public long[] AttentionMask(string text)
    {
        int n = Math.Min(EncodePieces(text).Count, MaxLength - 1) + 1;
        var mask = new long[MaxLength];
        for (int i = 0; i < n; i++) mask[i] = 1;
        return mask;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
