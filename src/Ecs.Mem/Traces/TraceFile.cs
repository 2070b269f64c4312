using System.IO.Compression;
using EcsMem.Diagnostics;

namespace EcsMem.Traces;

/// <summary>
/// Opens trace files that may be compressed. The compression is detected from the first bytes
/// (gzip 1F 8B, zstd frame 28 B5 2F FD), never from the extension, so a renamed file still opens.
/// A compressed stream must be complete: a truncated or header-only gzip/zstd stream and bytes after the
/// stream's end are read errors (<see cref="InvalidDataException"/> from the stream, which the readers
/// report as bad input naming the file and line), never a shorter trace. xz (<c>FD 37 7A 58 5A 00</c>, as ChampSim
/// traces are distributed) is decoded by <see cref="XzCheckedStream"/>. The path <c>-</c> is standard input
/// (<see cref="StandardInput"/>).
/// </summary>
public static class TraceFile
{
    /// <summary>Buffer size for the underlying file: large reads keep the decoders fed.</summary>
    private const int FileBufferSize = 1 << 20;

    /// <summary>What <see cref="Detect"/> found at the start of a file.</summary>
    public enum Compression { None, Gzip, Zstd, Xz }

    /// <summary>
    /// Opens <paramref name="path"/> for reading and returns the decompressed byte stream.
    /// A missing or unreadable file is an <see cref="InputException"/>.
    /// </summary>
    public static Stream Open(string path)
    {
        Stream file;
        try
        {
            file = StandardInput.Is(path) ? StandardInput.Open() : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileBufferSize, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException ? "trace file not found" : "cannot open trace file: " + e.Message;
            throw new InputException(path, 0, path, problem);
        }
        try
        {
            Span<byte> head = stackalloc byte[6];
            int n = ReadAtMost(file, head);
            // A pipe or FIFO (ecsmem run --trace <(zcat t.gz)) cannot seek back: its first bytes are replayed instead.
            Stream raw = file;
            if (file.CanSeek)
                file.Position = 0;
            else
                raw = new HeadReplayStream(head[..n].ToArray(), file);
            return Detect(head[..n]) switch
            {
                Compression.Gzip => GzipCheckedStream.Open(raw),
                Compression.Zstd => new ZstdSharp.DecompressionStream(raw, leaveOpen: false),
                Compression.Xz => new XzCheckedStream(raw),
                _ => raw,
            };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Classifies the first bytes of a file (fewer than 4 bytes means uncompressed).</summary>
    public static Compression Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B) return Compression.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD) return Compression.Zstd;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00])) return Compression.Xz;
        return Compression.None;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    internal static int ReadAtMost(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>
    /// Reads a stream and rethrows decompression failures (corrupt gzip/zstd data) as bad input,
    /// so a damaged file is reported by name instead of crashing.
    /// </summary>
    internal static int ReadChecked(Stream s, Span<byte> buffer, string source, long record)
    {
        try
        {
            return ReadAtMost(s, buffer);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ZstdSharp.ZstdException)
        {
            string what = e is EndOfStreamException ? "truncated compressed stream (" + e.Message + ")" : e.Message;
            throw new InputException(source, record, "", "cannot read compressed data: " + what);
        }
    }
}
