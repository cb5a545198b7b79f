using System.Buffers.Binary;
using System.Text;

namespace TimeBill.Core.Native;

/// <summary>
/// Marks chosen symbol-version requirements of an ELF64 little-endian shared object as weak
/// (<c>VER_FLG_WEAK</c> in its <c>.gnu.version_r</c> section), so the dynamic loader accepts the file on
/// systems whose library lacks that version. Only the flag bits of the named entries change; every other
/// byte of the file stays as it was.
/// </summary>
internal static class ElfVersionNeedPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>Returns how many requirements named in <paramref name="versions"/> were (or already were) weak.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an ELF64 little-endian file with a version-needs section.</exception>
    public static int MarkWeak(byte[] elf, IReadOnlySet<string> versions, string fileNameForErrors)
    {
        var span = elf.AsSpan();
        if (span.Length < 64 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
            throw new InvalidDataException($"{fileNameForErrors}: not an ELF file.");
        if (span[4] != 2 || span[5] != 1)
            throw new InvalidDataException($"{fileNameForErrors}: only 64-bit little-endian ELF files are supported.");

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        if (shentsize < 64 || shoff + (ulong)(shentsize * shnum) > (ulong)span.Length)
            throw new InvalidDataException($"{fileNameForErrors}: section header table lies outside the file.");

        for (int i = 0; i < shnum; i++)
        {
            var sh = span.Slice((int)shoff + i * shentsize, shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;

            int offset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]));
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]);
            var strtab = span.Slice((int)shoff + link * shentsize, shentsize);
            int strOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]));
            return MarkInVerneed(span, offset, count, strOffset, versions);
        }
        throw new InvalidDataException($"{fileNameForErrors}: no .gnu.version_r section.");
    }

    private static int MarkInVerneed(Span<byte> span, int need, int count, int strOffset, IReadOnlySet<string> versions)
    {
        int marked = 0;
        for (int n = 0; n < count; n++)
        {
            int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
            int aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
            for (int a = 0; a < auxCount; a++)
            {
                int name = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..]);
                if (versions.Contains(ReadCString(span, strOffset + name)))
                {
                    var flags = span.Slice(aux + 4, 2);
                    BinaryPrimitives.WriteUInt16LittleEndian(flags, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(flags) | VerFlagWeak));
                    marked++;
                }
                aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
            }
            int next = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]);
            if (next == 0) break;
            need += next;
        }
        return marked;
    }

    private static string ReadCString(ReadOnlySpan<byte> span, int start)
    {
        int end = span[start..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(span.Slice(start, end < 0 ? span.Length - start : end));
    }
}
