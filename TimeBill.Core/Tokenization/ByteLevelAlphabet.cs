namespace TimeBill.Core.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: each of the 256 byte values stands for one printable character, so byte-level BPE
/// vocabularies are plain strings (<c>Ġ</c> = space, <c>Ċ</c> = <c>\n</c>). Printable Latin-1 bytes map to themselves;
/// the other 68 bytes map, in ascending order, to U+0100 onwards.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Every character of the alphabet is below this.</summary>
    public const int CharLimit = 0x100 + 68;

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>The byte <paramref name="c"/> stands for, if it belongs to the alphabet.</summary>
    public static bool TryGetByte(char c, out byte value)
    {
        int b = c < CharToByte.Length ? CharToByte[c] : -1;
        value = (byte)b;
        return b >= 0;
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 0x100;
        for (int b = 0; b < 256; b++)
            table[b] = IsPrintable(b) ? (char)b : (char)next++;
        return table;
    }

    private static short[] BuildCharToByte()
    {
        var table = new short[CharLimit];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[ByteToChar[b]] = (short)b;
        return table;
    }
}
