namespace FineR1.Core.IO;

/// <summary>
/// Reads files named by users or data files with bounded time and memory: only regular files (a folder, a device such
/// as <c>/dev/zero</c>, a FIFO or a <c>/proc</c> file is refused before it is opened, so nothing blocks or reads
/// forever) and at most a given number of bytes. Errors go through the caller's exception factory, so each kind of file
/// keeps its own exception type (<c>ImageProcessingException</c>, <c>ConfigurationException</c>, …).
/// </summary>
/// <remarks>
/// .NET has no portable "is a regular file" test; devices, FIFOs and <c>/proc</c> files all report a length of 0,
/// so a file is read only when it reports a positive length, and then no more than that length.
/// </remarks>
public static class InputFile
{
    /// <summary>Checks that <paramref name="path"/> is a non-empty regular file of at most <paramref name="maxBytes"/> bytes; returns its length.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">Largest accepted size.</param>
    /// <param name="error">Makes the exception to throw from a message (the file is named by the caller's exception).</param>
    public static long Check(string path, long maxBytes, Func<string, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(error);
        if (path.Length == 0) throw error("the path is empty.");
        if (Directory.Exists(path)) throw error("is a folder, not a file.");
        FileInfo info;
        try { info = new FileInfo(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or UnauthorizedAccessException or IOException)
        {
            throw error($"not a usable file path ({e.Message}).");
        }
        if (!info.Exists) throw error("file not found.");
        if (info.Length == 0) throw error("is empty or not a regular file (a device such as /dev/zero, a FIFO or a /proc file); only regular files are read.");
        if (info.Length > maxBytes) throw error($"is {info.Length:N0} bytes, above the limit of {maxBytes:N0} bytes for this kind of file.");
        return info.Length;
    }

    /// <summary>Reads the whole file after <see cref="Check"/>: at most its reported length.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, Func<string, Exception> error)
    {
        var length = Check(path, maxBytes, error);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            var bytes = new byte[length];
            var read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            return read == bytes.Length ? bytes : bytes[..read];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"cannot read the file ({e.Message}).");
        }
    }

    /// <summary>Opens the file for reading after <see cref="Check"/>.</summary>
    public static FileStream OpenRead(string path, long maxBytes, Func<string, Exception> error)
    {
        Check(path, maxBytes, error);
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, FileOptions.SequentialScan); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw error($"cannot read the file ({e.Message}).");
        }
    }

    /// <summary>Copies <paramref name="from"/> to its end into <paramref name="to"/>, refusing more than <paramref name="limit"/> bytes (a decompression bomb, an endless stream).</summary>
    public static void CopyAtMost(Stream from, Stream to, long limit, Func<string, Exception> error)
    {
        var chunk = new byte[1 << 16];
        long copied = 0;
        int read;
        while ((read = from.Read(chunk)) > 0)
        {
            copied += read;
            if (copied > limit) throw error($"longer than the limit of {limit:N0} bytes.");
            to.Write(chunk, 0, read);
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/>, resolved against <paramref name="root"/> (when relative), stays inside
    /// <paramref name="root"/>: <c>../../etc/passwd</c> and absolute paths elsewhere do not. Symbolic links are not
    /// followed (a link inside the root is the dataset owner's choice).
    /// </summary>
    /// <returns>The full path when inside, null otherwise.</returns>
    public static string? ResolveInside(string root, string path)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.Contains('\0')) return null;
        string fullRoot, full;
        try
        {
            fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
            full = Path.GetFullPath(Path.Combine(fullRoot, path));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return null; }
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return full.StartsWith(fullRoot + Path.DirectorySeparatorChar, comparison) ? full : null;
    }
}
