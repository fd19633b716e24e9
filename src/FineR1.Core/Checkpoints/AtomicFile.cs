namespace FineR1.Core.Checkpoints;

/// <summary>
/// Writes a file so that a crash never leaves a half-written file under its final name: the content goes to a
/// temporary file in the same folder (same file system), is flushed to disk, then renamed over the final name.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on any exception the temporary file is
    /// deleted and an existing file at <paramref name="path"/> is left as it was.</summary>
    internal static void Write(string path, Action<FileStream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Deletes temporary files that interrupted writes left in <paramref name="folder"/> (<c>.name.{guid}.tmp</c>).</summary>
    internal static void DeleteLeftovers(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            var name = Path.GetFileName(file);
            if (name.Length > 37 && name[^37] == '.' && Guid.TryParseExact(name[^36..^4], "N", out _))
                try { File.Delete(file); } catch (IOException) { }
        }
    }

    /// <summary>Writes UTF-8 text atomically.</summary>
    internal static void WriteText(string path, string text) =>
        Write(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));
}
