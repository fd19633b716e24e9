using System.Buffers.Binary;
using System.Text;

namespace FineR1.Core.Native;

/// <summary>
/// Reads and rewrites the symbol-version tables of a 64-bit little-endian ELF shared library.
/// </summary>
/// <remarks>
/// Why this exists: TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> was linked with GCC 13, whose
/// <c>&lt;iostream&gt;</c> emits a reference to <c>std::ios_base_library_init</c> versioned <c>GLIBCXX_3.4.32</c>.
/// That symbol is never called, but the dynamic loader refuses any library whose <c>.gnu.version_r</c> asks for a
/// version the system <c>libstdc++.so.6</c> lacks (Debian 12 and Ubuntu 22.04 stop at <c>GLIBCXX_3.4.30</c>).
/// Renaming that one requirement to a version the system has (same length, hash recomputed) is enough.
/// See <c>docs/torchsharp-on-linux.md</c>.
/// <para>Layout used (System V gABI, "Symbol Versioning"):</para>
/// <code>
/// Elf64_Verneed { u16 vn_version; u16 vn_cnt; u32 vn_file; u32 vn_aux; u32 vn_next; }   // 16 bytes
/// Elf64_Vernaux { u32 vna_hash; u16 vna_flags; u16 vna_other; u32 vna_name; u32 vna_next; } // 16 bytes
/// </code>
/// </remarks>
public static class ElfVersionPatcher
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVerdef = 0x6ffffffd;

    /// <summary>The classic System V ELF hash, stored in <c>vna_hash</c> / <c>vd_hash</c>.</summary>
    public static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    /// <summary>Version names a library requires (<c>.gnu.version_r</c>), e.g. <c>GLIBCXX_3.4.32</c>.</summary>
    public static IReadOnlyList<string> RequiredVersions(ReadOnlySpan<byte> elf)
    {
        var result = new List<string>();
        foreach (var aux in EnumerateVernaux(elf)) result.Add(aux.Name);
        return result;
    }

    /// <summary>Version names a library defines (<c>.gnu.version_d</c>), e.g. libstdc++'s <c>GLIBCXX_3.4.30</c>.</summary>
    public static IReadOnlyList<string> DefinedVersions(ReadOnlySpan<byte> elf)
    {
        var names = new List<string>();
        var sections = ReadSections(elf);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerdef) continue;
            var strtab = sections[(int)s.Link];
            int offset = checked((int)s.Offset);
            for (int i = 0; i < s.Info; i++)
            {
                // Elf64_Verdef { u16 vd_version, vd_flags, vd_ndx, vd_cnt; u32 vd_hash, vd_aux, vd_next; }
                ushort cnt = U16(elf, offset + 6);
                uint aux = U32(elf, offset + 12);
                uint next = U32(elf, offset + 16);
                if (cnt > 0)
                {
                    // Elf64_Verdaux { u32 vda_name; u32 vda_next; } - the first one names the version.
                    uint nameOff = U32(elf, offset + (int)aux);
                    names.Add(ReadString(elf, strtab, nameOff));
                }
                if (next == 0) break;
                offset += (int)next;
            }
        }
        return names;
    }

    /// <summary>
    /// Renames every requirement <paramref name="from"/> to <paramref name="to"/> (names of equal length) in place,
    /// recomputing <c>vna_hash</c>. Returns the number of entries changed.
    /// </summary>
    public static int RenameRequiredVersion(Span<byte> elf, string from, string to)
    {
        if (from.Length != to.Length)
            throw new ArgumentException($"Version names must have the same length ('{from}' vs '{to}').", nameof(to));
        var toBytes = Encoding.ASCII.GetBytes(to);
        int changed = 0;
        foreach (var aux in EnumerateVernaux(elf))
        {
            if (aux.Name != from) continue;
            // The version string lives in .dynstr and is referenced by this entry alone; overwrite it in place.
            toBytes.CopyTo(elf.Slice(checked((int)aux.NameFileOffset), toBytes.Length));
            BinaryPrimitives.WriteUInt32LittleEndian(elf.Slice(aux.EntryOffset, 4), ElfHash(to));
            changed++;
        }
        return changed;
    }

    private readonly record struct Section(uint Type, ulong Offset, ulong Size, uint Link, uint Info);
    private readonly record struct Vernaux(int EntryOffset, string Name, long NameFileOffset);

    private static List<Vernaux> EnumerateVernaux(ReadOnlySpan<byte> elf)
    {
        var list = new List<Vernaux>();
        var sections = ReadSections(elf);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerneed) continue;
            var strtab = sections[(int)s.Link];
            int need = checked((int)s.Offset);
            for (int i = 0; i < s.Info; i++)
            {
                ushort cnt = U16(elf, need + 2);
                int aux = need + (int)U32(elf, need + 8);
                for (int j = 0; j < cnt; j++)
                {
                    uint nameOff = U32(elf, aux + 8);
                    list.Add(new Vernaux(aux, ReadString(elf, strtab, nameOff), (long)strtab.Offset + nameOff));
                    uint auxNext = U32(elf, aux + 12);
                    if (auxNext == 0) break;
                    aux += (int)auxNext;
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return list;
    }

    private static List<Section> ReadSections(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");
        ulong shoff = U64(elf, 0x28);
        ushort shentsize = U16(elf, 0x3A);
        ushort shnum = U16(elf, 0x3C);
        if (shentsize < 64 || shoff + (ulong)shentsize * shnum > (ulong)elf.Length)
            throw new InvalidDataException("ELF section header table lies outside the file.");
        var sections = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            int b = checked((int)shoff + i * shentsize);
            sections.Add(new Section(U32(elf, b + 4), U64(elf, b + 24), U64(elf, b + 32), U32(elf, b + 40), U32(elf, b + 44)));
        }
        return sections;
    }

    private static string ReadString(ReadOnlySpan<byte> elf, Section strtab, uint offset)
    {
        int start = checked((int)(strtab.Offset + offset));
        int end = elf.Slice(start).IndexOf((byte)0);
        if (end < 0) throw new InvalidDataException("Unterminated ELF string.");
        return Encoding.ASCII.GetString(elf.Slice(start, end));
    }

    private static ushort U16(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(o, 2));
    private static uint U32(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(o, 4));
    private static ulong U64(ReadOnlySpan<byte> b, int o) => BinaryPrimitives.ReadUInt64LittleEndian(b.Slice(o, 8));
}
