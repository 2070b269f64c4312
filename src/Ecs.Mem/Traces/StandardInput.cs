namespace EcsMem.Traces;

/// <summary>
/// The trace named <c>-</c>: standard input. A command may open it more than once (first to sniff the
/// compression and format, then to read it), but a pipe can be read only once, so the first
/// <see cref="RecordLimit"/> bytes read from it are kept and replayed to every later opening. Once a reader has
/// gone past them, standard input cannot be opened again (an <see cref="IOException"/>).
/// </summary>
internal static class StandardInput
{
    /// <summary>Name that stands for standard input wherever a trace path is taken.</summary>
    public const string Name = "-";

    /// <summary>Bytes kept for replay: more than any format sniff or decompressor's first read needs.</summary>
    public const int RecordLimit = 4 << 20;

    private static readonly object Lock = new();
    private static Stream? _source;
    private static byte[] _recorded = [];
    private static int _recordedLength;
    private static bool _overflowed;

    /// <summary>True when <paramref name="path"/> means standard input.</summary>
    public static bool Is(string path) => path == Name;

    /// <summary>Opens standard input from its first byte (replaying what earlier openings read).</summary>
    public static Stream Open()
    {
        lock (Lock)
        {
            if (_overflowed)
                throw new IOException("standard input was already read past its first " + RecordLimit + " bytes and cannot be read again");
            _source ??= Console.OpenStandardInput(1 << 16);
            return new ReplayStream();
        }
    }

    /// <summary>Test hook: makes <paramref name="source"/> the standard input (null restores the console's).</summary>
    internal static void Reset(Stream? source)
    {
        lock (Lock)
        {
            _source = source;
            _recorded = [];
            _recordedLength = 0;
            _overflowed = false;
        }
    }

    private sealed class ReplayStream : ReadOnlyForwardStream
    {
        private long _position;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty) return 0;
            lock (Lock)
            {
                if (_position < _recordedLength)
                {
                    int n = (int)Math.Min(buffer.Length, _recordedLength - _position);
                    _recorded.AsSpan((int)_position, n).CopyTo(buffer);
                    _position += n;
                    return n;
                }
                if (_position != _recordedLength && !_overflowed)
                    throw new IOException("standard input is being read by another reader");
                int got = _source!.Read(buffer);
                if (!_overflowed && got > 0)
                {
                    if (_recordedLength + got <= RecordLimit)
                    {
                        if (_recorded.Length < _recordedLength + got)
                            Array.Resize(ref _recorded, Math.Min(RecordLimit, Math.Max(_recorded.Length * 2, _recordedLength + got)));
                        buffer[..got].CopyTo(_recorded.AsSpan(_recordedLength));
                        _recordedLength += got;
                    }
                    else
                    {
                        _overflowed = true;
                        _recorded = [];
                        _recordedLength = 0;
                    }
                }
                _position += got;
                return got;
            }
        }
    }
}
