using System.Buffers.Binary;
using System.IO.Compression;

namespace EcsMem.Traces;

/// <summary>
/// A gzip decompressor that insists on a complete stream. .NET's <see cref="GZipStream"/> ends silently on a
/// truncated stream (a 2-byte header reads as an empty file, half a file as half the data) and ignores
/// bytes after the last member; this wrapper counts the compressed bytes and remembers the last eight, and
/// when the decompressor reports the end it reads the file to its real end and checks the gzip trailer:
/// the file must hold at least a minimal member (20 bytes) and end with ISIZE = decompressed length
/// mod 2^32 (RFC 1952). A cut stream or trailing garbage fails that check with an
/// <see cref="InvalidDataException"/>; the chance that damage leaves a matching 32-bit length is 2^-32.
/// </summary>
/// <remarks>
/// Several concatenated members (<c>cat a.gz b.gz</c>) decompress as one stream but end with the last
/// member's length only, so they are reported as damaged too: recompress such a file as one member.
/// </remarks>
internal sealed class GzipCheckedStream : ReadOnlyForwardStream
{
    /// <summary>Smallest gzip member: 10-byte header, an empty final deflate block (2 bytes), 8-byte trailer.</summary>
    private const int MinMemberBytes = 20;

    private readonly TailStream _file;
    private readonly GZipStream _gzip;
    private long _decompressed;
    private bool _checked;

    private GzipCheckedStream(Stream file)
    {
        _file = new TailStream(file);
        _gzip = new GZipStream(_file, CompressionMode.Decompress, leaveOpen: false);
    }

    public static Stream Open(Stream file) => new GzipCheckedStream(file);

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        int n = _gzip.Read(buffer);
        if (n > 0)
        {
            _decompressed += n;
            return n;
        }
        if (!_checked)
        {
            CheckEnd();
            _checked = true;
        }
        return 0;
    }

    private void CheckEnd()
    {
        _file.Drain();
        if (_file.Total < MinMemberBytes)
            throw new InvalidDataException($"truncated gzip stream ({_file.Total} bytes, a complete one has at least {MinMemberBytes})");
        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(_file.Tail.AsSpan(4, 4));
        if (isize != (uint)_decompressed)
            throw new InvalidDataException(
                "gzip stream truncated, damaged or followed by other data (its trailer does not match the decompressed length)");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _gzip.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Passes reads through, counting the bytes and keeping the last eight.</summary>
    private sealed class TailStream(Stream inner) : ReadOnlyForwardStream
    {
        public byte[] Tail { get; } = new byte[8];
        public long Total { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            if (n > 0) Remember(buffer[..n]);
            return n;
        }

        /// <summary>Reads whatever the decompressor left behind (trailing data), so the tail is the file's real end.</summary>
        public void Drain()
        {
            Span<byte> chunk = stackalloc byte[4096];
            int n;
            while ((n = inner.Read(chunk)) > 0) Remember(chunk[..n]);
        }

        private void Remember(ReadOnlySpan<byte> data)
        {
            Total += data.Length;
            if (data.Length >= 8)
            {
                data[^8..].CopyTo(Tail);
                return;
            }
            Tail.AsSpan(data.Length).CopyTo(Tail);
            data.CopyTo(Tail.AsSpan(8 - data.Length));
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
