namespace FineR1.Core.Text.Tokenization;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: byte-level BPE writes every byte as one printable character. Bytes 33–126, 161–172
/// and 174–255 stand for themselves; the other 68 bytes map, in order, to U+0100.. (space 0x20 → 'Ġ' U+0120,
/// newline 0x0A → 'Ċ' U+010A).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character → byte, -1 where the character is not in the alphabet (index = char code, up to U+0143).</summary>
    public static readonly short[] CharToByte = Build();

    private static short[] Build()
    {
        var table = new short[0x144];
        Array.Fill(table, (short)-1);
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            table[printable ? b : next++] = (short)b;
        }
        return table;
    }

    /// <summary>The bytes a vocabulary token stands for; a token with a character outside the alphabet is taken as its UTF-8 (as HF does).</summary>
    public static byte[] TokenToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c >= CharToByte.Length || CharToByte[c] < 0) return System.Text.Encoding.UTF8.GetBytes(token);
            bytes[i] = (byte)CharToByte[c];
        }
        return bytes;
    }
}
