using System.Text;

namespace FineR1.Inference.Siglip;

/// <summary>
/// Makes a SentencePiece <c>ModelProto</c> acceptable to Microsoft.ML.Tokenizers 2.0.1, whose unigram model indexes
/// its vocabulary with <c>bos_id</c>/<c>eos_id</c>/<c>unk_id</c> and fails on the <c>bos_id = -1</c> that T5/SigLIP
/// models declare. The fix appends an unused control piece <c>&lt;s&gt;</c> and points <c>bos_id</c> at it (protobuf
/// merges a repeated embedded message field into the first), so no existing id changes and the encoder never emits it.
/// </summary>
internal static class SentencePieceModelPatch
{
    private const int PiecesField = 1, TrainerSpecField = 2, BosIdField = 41;

    /// <summary>Returns <paramref name="model"/> unchanged when <c>bos_id</c> is valid, else the patched bytes.</summary>
    public static byte[] EnsureBosPiece(byte[] model)
    {
        int pieceCount = 0;
        long bosId = 1; // proto default
        int pos = 0;
        while (pos < model.Length)
        {
            ulong tag = ReadVarint(model, ref pos);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (wire == 2)
            {
                int len = (int)ReadVarint(model, ref pos);
                if (field == PiecesField) pieceCount++;
                else if (field == TrainerSpecField) bosId = FindVarint(model.AsSpan(pos, len), BosIdField) ?? bosId;
                pos += len;
            }
            else Skip(model, ref pos, wire);
        }
        if (bosId >= 0 && bosId < pieceCount) return model;

        var extra = new MemoryStream();
        var piece = new MemoryStream();
        WriteBytes(piece, 1, Encoding.UTF8.GetBytes("<s>"));
        WriteTag(piece, 3, 0); WriteVarint(piece, 3);          // type = CONTROL
        WriteBytes(extra, PiecesField, piece.ToArray());
        var trainer = new MemoryStream();
        WriteTag(trainer, BosIdField, 0); WriteVarint(trainer, (ulong)pieceCount);
        WriteBytes(extra, TrainerSpecField, trainer.ToArray());
        return [.. model, .. extra.ToArray()];
    }

    private static long? FindVarint(ReadOnlySpan<byte> message, int wanted)
    {
        var bytes = message.ToArray();
        int pos = 0;
        long? found = null;
        while (pos < bytes.Length)
        {
            ulong tag = ReadVarint(bytes, ref pos);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (field == wanted && wire == 0) found = (long)ReadVarint(bytes, ref pos);
            else Skip(bytes, ref pos, wire);
        }
        return found;
    }

    private static void Skip(byte[] b, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: ReadVarint(b, ref pos); break;
            case 1: pos += 8; break;
            case 2: { int len = (int)ReadVarint(b, ref pos); pos += len; break; }
            case 5: pos += 4; break;
            default: throw new InvalidDataException($"unsupported protobuf wire type {wire}.");
        }
        if (pos > b.Length) throw new InvalidDataException("truncated protobuf message.");
    }

    private static ulong ReadVarint(byte[] b, ref int pos)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= b.Length) throw new InvalidDataException("truncated protobuf varint.");
            byte x = b[pos++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return v;
        }
        throw new InvalidDataException("malformed protobuf varint.");
    }

    internal static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    internal static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    internal static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2); WriteVarint(s, (ulong)bytes.Length); s.Write(bytes);
    }
}
