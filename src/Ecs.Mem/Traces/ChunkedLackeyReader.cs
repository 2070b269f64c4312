using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using EcsMem.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace EcsMem.Traces;

/// <summary>
/// Decodes a plain (uncompressed, seekable) Lackey file on two threads that share the decoding, and hands the caller
/// each chunk's accesses in place (no copy): the file is cut into chunks of about <see cref="ChunkBytes"/> at line
/// starts, a chunk is decoded into a slot of a bounded ring, and the caller takes the slots in file order.
/// <para>Why not one decoder thread feeding the caller (<see cref="ReadAheadTraceReader"/>): decoding a Lackey line
/// costs about twice simulating it, so the simulating thread ran dry and slept, the decoder then filled the ring and
/// slept too, and on a busy machine each wake-up waits milliseconds for a CPU: both threads spent most of the run
/// asleep, and the run took as long as on one thread. Here the caller never waits: when the chunk it needs next is
/// not decoded yet it decodes the next unclaimed chunk itself, so both threads decode; and when it may claim none (the
/// helper holds the chunk it needs and has been off its CPU all the while the caller decoded the rest of the ring) it
/// decodes that chunk into a spare slot itself, so a preempted helper never holds the caller up: the run is never
/// slower than one thread's by more than the helper's wasted copy. The helper yields for a while on a full ring (the
/// caller is behind, with work in hand) before it sleeps.</para>
/// <para>Chunk k holds the lines that start in bytes [k·C, (k+1)·C) (C = <see cref="ChunkBytes"/>): its range runs
/// from the first line start at or after k·C to the first at or after (k+1)·C, so every line is in exactly one chunk
/// whoever decodes it. Each thread decodes with its own <see cref="LackeyReader"/> restarted on the chunk's range
/// (pread straight into the reader's buffer), so every line means what it means to a <see cref="LackeyReader"/> on
/// the whole file: the same accesses in the same order, the same skipped lines. A chunk's error is reported when the
/// caller reaches that chunk, with the line number counted from the file's start (the lines of the chunks before it
/// added), so the exception equals the one <see cref="LackeyReader"/> throws (file, line, text, problem). A line
/// longer than the reader's buffer is an error wherever it lies: a chunk's end is searched for only that far, so the
/// chunk the line starts in holds enough of it for the reader to say so.</para>
/// <para>The ring and both readers are made at construction; the steady state allocates nothing on either thread.</para>
/// </summary>
public sealed class ChunkedLackeyReader : IDisposable
{
    /// <summary>Bytes per chunk: a little less than the reader's buffer, so one pread fills it with the whole range.</summary>
    public const int ChunkBytes = LackeyReader.BufferSize - 1024;

    /// <summary>Chunks in the ring (decoded and waiting, or being decoded): about 1 MB of text ahead.</summary>
    public const int Slots = 64;

    /// <summary>Spins (mostly yields) of the helper on a full ring before it sleeps.</summary>
    private const int HelperSpins = 200;

    /// <summary>How far past a chunk's nominal end its last line is searched for: a line at least this long is an
    /// error (longer than <see cref="LackeyReader"/>'s buffer), and the chunk it starts in then holds enough of it.</summary>
    private const int LongestLine = LackeyReader.BufferSize + 1;

    /// <summary>Accesses a slot holds: the chunk's records start within its <see cref="ChunkBytes"/>, and every one
    /// but the last lies wholly there, taking at least 7 bytes ("I  0,1" and its newline).</summary>
    private const int SlotRecords = ChunkBytes / 7 + 2;

    private readonly FileStream _file;
    private readonly SafeFileHandle _handle;
    private readonly long _length;
    private readonly long _chunks;
    private readonly string _source;
    private readonly MemoryAccess[][] _slots = new MemoryAccess[Slots][];
    private readonly int[] _counts = new int[Slots];
    private readonly long[] _lines = new long[Slots];
    private readonly ExceptionDispatchInfo?[] _errors = new ExceptionDispatchInfo?[Slots];
    /// <summary>Per slot, 1 + the chunk it holds once decoded (written last, with release semantics).</summary>
    private readonly long[] _ready = new long[Slots];
    /// <summary>Per slot, 1 while a thread writes it (a claimed chunk is decoded into it).</summary>
    private readonly int[] _busy = new int[Slots];
    /// <summary>Where the caller decodes a chunk it takes over from the helper (see <see cref="Next"/>).</summary>
    private readonly MemoryAccess[] _spare = new MemoryAccess[SlotRecords];
    private readonly Worker _helperWorker;
    private readonly Worker _callerWorker;
    private readonly Thread? _helper;
    private readonly ManualResetEventSlim _notFull = new(false);
    private Shared _claimed;    // chunks claimed by either thread (the next one to decode)
    private Shared _consumed;   // chunks the caller has finished with (their slots are free)
    private Shared _helperSleeping;
    private volatile bool _stopping;
    private volatile bool _failed;
    private bool _disposed;
    // Counts for ECSMEM_PIPE_STATS (see Stats): each written by one thread only.
    private long _callerChunks, _callerSteals, _helperChunks, _helperSleeps;

    // Caller side.
    private long _next;       // the chunk the caller takes next
    private long _lineBase;   // lines in the chunks before _next
    private bool _holding;

    /// <summary>The counters the two threads write, each on its own 128-byte span (no false sharing: adjacent-line
    /// prefetch pairs 64-byte lines).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Shared
    {
        [FieldOffset(128)] public long Value;
    }

    /// <summary>One thread's decoder: a <see cref="LackeyReader"/> that reads one chunk's byte range at a time.</summary>
    private sealed class Worker
    {
        public readonly LackeyReader Reader;
        public readonly byte[] Scan = new byte[512];

        public Worker(SafeFileHandle handle, string source) => Reader = new LackeyReader(handle, source);
    }

    /// <summary>Opens <paramref name="path"/> (a plain Lackey file, no compression) and starts the helper thread
    /// when <paramref name="helperThread"/> (else the caller decodes every chunk itself).</summary>
    public ChunkedLackeyReader(string path, bool helperThread = true)
    {
        _source = path;
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        _handle = _file.SafeFileHandle;
        _length = _file.Length;
        _chunks = (_length + ChunkBytes - 1) / ChunkBytes;
        for (int i = 0; i < Slots; i++)
            _slots[i] = new MemoryAccess[SlotRecords];
        _callerWorker = new Worker(_handle, path);
        _helperWorker = new Worker(_handle, path);
        if (helperThread)
        {
            _helper = new Thread(Help) { IsBackground = true, Name = "ecsmem trace decoder" };
            _helper.Start();
        }
    }

    /// <summary>Whether <paramref name="path"/> can be read this way: a regular, seekable file whose first bytes are
    /// no compressed stream's.</summary>
    public static bool Suits(string path)
    {
        if (StandardInput.Is(path))
            return false;
        // Ask the file system before opening: opening a FIFO's read end and closing it again (it cannot seek) leaves its
        // writer with no reader until the trace is opened for real, so the writer's next write fails with EPIPE (a
        // `valgrind ... >fifo` dies of SIGPIPE; SignalTests' cachegrind case failed this way now and then).
        if (FileIdentity.KindOf(path) != FileKind.Regular)
            return false;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            if (!f.CanSeek)
                return false;
            Span<byte> head = stackalloc byte[6];
            return TraceFile.Detect(head[..TraceFile.ReadAtMost(f, head)]) == TraceFile.Compression.None;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    public string SourceName => _source;

    /// <summary>
    /// The next chunk's accesses, in file order, valid until the next call; empty at the end of the trace. Throws the
    /// error of the first bad line (as <see cref="LackeyReader"/> would, same line number) when it is reached.
    /// </summary>
    public ReadOnlySpan<MemoryAccess> Next()
    {
        if (_holding)
        {
            _holding = false;
            // Full fence: the helper sets its sleeping flag before it checks this count (see Help).
            Interlocked.Exchange(ref _consumed.Value, _next);
            if (Volatile.Read(ref _helperSleeping.Value) != 0)
                _notFull.Set();
        }
        while (_next < _chunks)
        {
            int slot = (int)(_next % Slots);
            MemoryAccess[] records;
            int n;
            long lines;
            ExceptionDispatchInfo? error;
            if (Volatile.Read(ref _ready[slot]) == _next + 1)
            {
                records = _slots[slot];
                n = _counts[slot];
                lines = _lines[slot];
                error = _errors[slot];
            }
            else if (DecodeOne(_callerWorker))
            {
                // Not decoded yet: a later chunk (or this one, if nobody had claimed it) decoded meanwhile.
                _callerChunks++;
                continue;
            }
            else
            {
                // Nothing this thread may claim: the helper holds this chunk (or the slot of it, still writing a
                // chunk decoded here before) and has been off its CPU for as long as this thread took to decode the
                // rest of the ring. Decode the chunk here rather than wait a scheduling round for it; the helper's
                // copy, when it comes, is never read.
                long claimed = Volatile.Read(ref _claimed.Value);
                if (claimed == _next && Interlocked.CompareExchange(ref _claimed.Value, _next + 1, _next) != _next)
                    continue;
                records = _spare;
                error = Decode(_callerWorker, _next, records, out n, out lines);
                _callerSteals++;
            }
            if (error is not null)
            {
                _failed = true;
                if (error.SourceException is InputException e && e.Line > 0)
                    throw new InputException(e.Origin, e.Line + _lineBase, e.Value, e.Problem);
                error.Throw();
            }
            _lineBase += lines;
            _next++;
            if (n == 0)
            {
                // Only Valgrind's lines or no line start here: nothing to hand out, the slot is free at once.
                Interlocked.Exchange(ref _consumed.Value, _next);
                if (Volatile.Read(ref _helperSleeping.Value) != 0)
                    _notFull.Set();
                continue;
            }
            _holding = true;
            return records.AsSpan(0, n);
        }
        return default;
    }

    /// <summary>Where the work went, for tuning (<c>ECSMEM_PIPE_STATS=1 ecsmem run --cachegrind ...</c> prints it):
    /// chunks in the file, chunks the caller and the helper decoded into the ring, chunks the caller took over from
    /// the helper (decoded twice), the helper's sleeps on a full ring. Read it after the end (the helper's counts
    /// are its own until then).</summary>
    public (long Chunks, long CallerChunks, long HelperChunks, long CallerSteals, long HelperSleeps) Stats =>
        (_chunks, _callerChunks, Volatile.Read(ref _helperChunks), _callerSteals, Volatile.Read(ref _helperSleeps));

    /// <summary>Lines read so far (the chunks handed out, records and skipped lines).</summary>
    public long LinesRead => _lineBase;

    /// <summary>The helper thread: decodes chunks until none is left, sleeping while the ring is full.</summary>
    private void Help()
    {
        var spin = new SpinWait();
        while (!_stopping && !_failed)
        {
            if (DecodeOne(_helperWorker))
            {
                _helperChunks++;
                spin.Reset();
                continue;
            }
            if (Volatile.Read(ref _claimed.Value) >= _chunks)
                return;
            // The ring is full: the caller is behind (or off its CPU). Yield for a while before sleeping, since on a
            // busy machine a sleeper waits milliseconds for a CPU once woken, while the caller empties the ring fast.
            if (spin.Count < HelperSpins)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            spin.Reset();
            _helperSleeps++;
            _notFull.Reset();
            Interlocked.Exchange(ref _helperSleeping.Value, 1);
            if (!_stopping && Volatile.Read(ref _claimed.Value) >= Volatile.Read(ref _consumed.Value) + Slots)
                _notFull.Wait();
            Interlocked.Exchange(ref _helperSleeping.Value, 0);
        }
    }

    /// <summary>Claims the next chunk whose slot is free (its previous chunk consumed, and no thread still writing
    /// it) and decodes it into the slot; false when there is none.</summary>
    private bool DecodeOne(Worker w)
    {
        long k = Volatile.Read(ref _claimed.Value);
        while (true)
        {
            if (k >= _chunks || k >= Volatile.Read(ref _consumed.Value) + Slots || _failed
                || Volatile.Read(ref _busy[(int)(k % Slots)]) != 0)
                return false;
            long seen = Interlocked.CompareExchange(ref _claimed.Value, k + 1, k);
            if (seen == k)
                break;
            k = seen;
        }
        int slot = (int)(k % Slots);
        Volatile.Write(ref _busy[slot], 1);
        _errors[slot] = Decode(w, k, _slots[slot], out _counts[slot], out _lines[slot]);
        // Published before the slot is marked free: a later claimant of the slot then writes after this thread's
        // last write, whether or not the caller took this chunk from here.
        Volatile.Write(ref _ready[slot], k + 1);
        Volatile.Write(ref _busy[slot], 0);
        return true;
    }

    /// <summary>Decodes chunk <paramref name="k"/> into <paramref name="records"/>: its accesses, its lines (records
    /// and skipped ones), and the error of its first bad line, if any (line numbers counted from the chunk's start).</summary>
    private ExceptionDispatchInfo? Decode(Worker w, long k, MemoryAccess[] records, out int n, out long lines)
    {
        n = 0;
        lines = 0;
        try
        {
            long from = LineStart(w, k * ChunkBytes);
            long to = LineStart(w, (k + 1) * ChunkBytes);
            w.Reader.Restart(from, to);
            int got;
            while ((got = w.Reader.Read(records.AsSpan(n))) > 0)
                n += got;
            lines = w.Reader.LinesRead;
            if (n == records.Length)
                throw new InvalidOperationException("a Lackey chunk overflowed its slot");   // cannot happen: see SlotRecords
            return null;
        }
        catch (Exception e)
        {
            _failed = true;
            return ExceptionDispatchInfo.Capture(e);
        }
    }

    /// <summary>The first line start at or after <paramref name="x"/> (0, the file's end, or just past a newline),
    /// searched for up to <see cref="LongestLine"/> bytes: if none is found that close, the line running through
    /// <paramref name="x"/> is too long for a Lackey reader, and the chunk it starts in ends far enough past it to
    /// say so.</summary>
    private long LineStart(Worker w, long x)
    {
        if (x <= 0)
            return 0;
        if (x >= _length)
            return _length;
        long pos = x - 1;
        long limit = Math.Min(_length, x + LongestLine);
        while (pos < limit)
        {
            int want = (int)Math.Min(w.Scan.Length, limit - pos);
            int got = RandomAccess.Read(_handle, w.Scan.AsSpan(0, want), pos);
            if (got == 0)
                return _length;
            int nl = w.Scan.AsSpan(0, got).IndexOf((byte)'\n');
            if (nl >= 0)
                return pos + nl + 1;
            pos += got;
        }
        return limit;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping = true;
        _notFull.Set();
        if (_helper is null || _helper.Join(TimeSpan.FromSeconds(10)))
        {
            _file.Dispose();
            _notFull.Dispose();
        }
    }
}
