using System.Buffers.Binary;
using System.IO.Compression;
using FineR1.Core.Imaging;

namespace FineR1.Core.Tests.Imaging;

/// <summary>Images that would take unbounded time or memory are refused before anything is allocated, naming the file.</summary>
public class HostileImageTests
{
    /// <summary>A valid PNG signature and IHDR claiming <paramref name="width"/>×<paramref name="height"/>, with one tiny IDAT.</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            png.Write(length);
            var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(typed);
            Span<byte> crc = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
            png.Write(crc);
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2;                      // 8-bit RGB
        Chunk("IHDR", ihdr);
        using (var idat = new MemoryStream())
        {
            using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(new byte[1000]);
            Chunk("IDAT", idat.ToArray());
        }
        Chunk("IEND", []);
        return png.ToArray();
    }

    /// <summary>PNG's CRC-32 (polynomial 0xEDB88320), bit by bit: a few hundred bytes here.</summary>
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void A_header_claiming_more_pixels_than_the_limit_is_refused_before_decoding()
    {
        using var dir = new TempDir();
        var path = dir.File("bomb.png");
        File.WriteAllBytes(path, PngClaiming(30000, 30000));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000, "allocated a pixel buffer");
        Assert.Equal(path, e.FilePath);
        Assert.Contains("900,000,000 pixels", e.Message);
        Assert.Contains("178,956,970", e.Message);
        Assert.Throws<ImageProcessingException>(() => ImageDecoder.ReadSize(path));
    }

    [Fact]
    public void The_limits_are_configurable_per_call()
    {
        var file = TestPaths.Fixture("imaging", "src_61x47.png");
        Assert.Equal((61, 47), ImageDecoder.ReadSize(file));
        Assert.Contains("2,867 pixels", Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(file, limits: new ImageLimits { MaxPixels = 2000 })).Message);
        Assert.Contains("bytes, above the limit", Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(file, limits: new ImageLimits { MaxFileBytes = 100 })).Message);
        Assert.Equal(61, ImageDecoder.Load(file, limits: new ImageLimits { MaxPixels = 2867 }).Width);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/proc/self/status")]
    [InlineData("/tmp")]
    public void Only_regular_files_are_read(string path)
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("Linux paths");
        var e = Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void A_fifo_is_refused_without_blocking()
    {
        if (!OperatingSystem.IsLinux()) Assert.Skip("mkfifo");
        using var dir = new TempDir();
        var fifo = dir.File("pipe.png");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo)) mk.WaitForExit();
        Assert.Contains("not a regular file", Assert.Throws<ImageProcessingException>(() => ImageDecoder.Load(fifo)).Message);
    }
}
