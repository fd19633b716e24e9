using FineR1.Core.Text.Tokenization;

namespace FineR1.Training.Pretraining;

/// <summary>
/// The token ids a closed world can ever need (every text it trains or evaluates on, plus the chat and vision special
/// tokens). The model keeps the full 151,936-row vocabulary; the trainer's softmax and the evaluation's LM head run over
/// these rows only, which makes the 151,936 × hidden output layer about 100× cheaper on a CPU. Ids outside the set are
/// never predicted (as if banned), which is exact for a closed world whose texts all use ids of the set.
/// </summary>
public sealed class OutputVocabulary
{
    private readonly Dictionary<int, int> _index;

    /// <summary>Builds the set from texts.</summary>
    public OutputVocabulary(QwenTokenizer tokenizer, IEnumerable<string> texts)
    {
        var ids = new SortedSet<int>
        {
            tokenizer.ImStartId, tokenizer.ImEndId, tokenizer.EndOfTextId, tokenizer.VisionStartId, tokenizer.VisionEndId, tokenizer.ImagePadId,
        };
        foreach (var t in texts) ids.UnionWith(tokenizer.Encode(t));
        foreach (var t in new[] { "system", "user", "assistant", "\n", QwenChatTemplateDefault }) ids.UnionWith(tokenizer.Encode(t));
        Ids = ids.ToArray();
        _index = Ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
    }

    private const string QwenChatTemplateDefault = FineR1.Core.Text.Chat.QwenChatTemplate.DefaultSystemPrompt;

    /// <summary>Sorted token ids.</summary>
    public int[] Ids { get; }

    /// <summary>Position of <paramref name="tokenId"/> in <see cref="Ids"/>.</summary>
    /// <exception cref="KeyNotFoundException">The id is not in the set.</exception>
    public int IndexOf(int tokenId) => _index.TryGetValue(tokenId, out var i) ? i
        : throw new KeyNotFoundException($"token {tokenId} is not in the output vocabulary.");

    /// <summary>Lookup table of length <paramref name="vocabSize"/>: index in <see cref="Ids"/>, or -100 for ids outside the set.</summary>
    public long[] Lookup(int vocabSize)
    {
        var map = new long[vocabSize];
        Array.Fill(map, -100L);
        for (int i = 0; i < Ids.Length; i++) map[Ids[i]] = i;
        return map;
    }
}
