using System.Text;
using static FineR1.Inference.Siglip.SentencePieceModelPatch;   // WriteTag, WriteVarint, WriteBytes: the product's protobuf writers

namespace FineR1.Inference.Tests.Siglip;

/// <summary>
/// Writes a SentencePiece <c>ModelProto</c> (unigram) by hand, field numbers from sentencepiece_model.proto, with a
/// T5/SigLIP-style layout: 0 &lt;pad&gt;, 1 &lt;/s&gt;, 2 &lt;unk&gt;, then normal pieces with their log-probabilities.
/// </summary>
internal static class TinySentencePieceModel
{
    public static readonly (string Piece, float Score)[] NormalPieces =
    [
        ("\u2581", -2f),           // 3
        ("\u2581black", -3f),      // 4
        ("footed", -4f),           // 5
        ("\u2581albatross", -3f),  // 6
        ("\u2581a", -3f),          // 7
        ("b", -6f), ("l", -6f), ("a", -6f), ("c", -6f), ("k", -6f), ("f", -6f), ("o", -6f), ("t", -6f), // 8..15
        ("e", -6f), ("d", -6f), ("s", -6f), ("r", -6f), ("i", -6f),                                     // 16..20
    ];

    public static byte[] Build()
    {
        var model = new MemoryStream();
        void Piece(string piece, float score, int type)
        {
            var p = new MemoryStream();
            WriteString(p, 1, piece);
            WriteTag(p, 2, 5); p.Write(BitConverter.GetBytes(score));
            WriteTag(p, 3, 0); WriteVarint(p, (ulong)type);
            WriteBytes(model, 1, p.ToArray());
        }
        Piece("<pad>", 0, 3); Piece("</s>", 0, 3); Piece("<unk>", 0, 2);
        foreach (var (piece, score) in NormalPieces) Piece(piece, score, 1);

        var trainer = new MemoryStream();
        WriteTag(trainer, 3, 0); WriteVarint(trainer, 1);                                   // model_type = UNIGRAM
        WriteTag(trainer, 4, 0); WriteVarint(trainer, (ulong)(3 + NormalPieces.Length));     // vocab_size
        WriteTag(trainer, 40, 0); WriteVarint(trainer, 2);                                  // unk_id
        WriteTag(trainer, 41, 0); WriteVarint(trainer, unchecked((ulong)(long)-1));         // bos_id = -1
        WriteTag(trainer, 42, 0); WriteVarint(trainer, 1);                                  // eos_id
        WriteTag(trainer, 43, 0); WriteVarint(trainer, 0);                                  // pad_id
        WriteString(trainer, 45, "<unk>"); WriteString(trainer, 46, "<s>");
        WriteString(trainer, 47, "</s>"); WriteString(trainer, 48, "<pad>");
        WriteBytes(model, 2, trainer.ToArray());

        var normalizer = new MemoryStream();
        WriteString(normalizer, 1, "identity");
        WriteTag(normalizer, 3, 0); WriteVarint(normalizer, 1);                             // add_dummy_prefix
        WriteTag(normalizer, 4, 0); WriteVarint(normalizer, 1);                             // remove_extra_whitespaces
        WriteTag(normalizer, 5, 0); WriteVarint(normalizer, 1);                             // escape_whitespaces
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static void WriteString(Stream s, int field, string text) => WriteBytes(s, field, Encoding.UTF8.GetBytes(text));
}
