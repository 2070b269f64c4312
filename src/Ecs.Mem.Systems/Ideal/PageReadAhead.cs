using System.Runtime.ExceptionServices;
using EcsMem.Traces;

namespace EcsMem.Systems.Ideal;

/// <summary>
/// Reads and decodes a trace's page numbers on a second thread while the caller replays them: a ring of four
/// buffers of 64Ki pages, filled in order by the reader thread and handed over in the same order, so the
/// references reach the replay exactly as a single thread would read them (same results). Reading and decoding
/// (the kernel's copy out of the page cache, the format's decoding and checks: a quarter of a whole ideal-mode
/// LRU run on one thread) then overlap the replay on a machine with two cores or more.
/// </summary>
/// <remarks>
/// Allocation-free after construction: the buffers are reused, the hand-over is two semaphores (a buffer free
/// for the reader, a buffer full for the replay). A reader exception (a malformed record) is thrown from
/// <see cref="Next"/> when the replay reaches the batch it would have been in, as it is: one clear input error.
/// <see cref="Dispose"/> stops the reader thread and waits for it, so the caller may dispose the trace reader
/// afterwards; it must be called before that (the replay stopped early on Ctrl-C, or threw).
/// </remarks>
public sealed class PageReadAhead : IDisposable
{
    private const int Buffers = 4;
    private const int BufferPages = 1 << 16;

    private readonly PageStream _stream;
    private readonly ulong[][] _buffers = new ulong[Buffers][];
    private readonly int[] _lengths = new int[Buffers]; // -1: the reader threw instead of filling it
    private readonly SemaphoreSlim _free = new(Buffers);
    private readonly SemaphoreSlim _full = new(0);
    private readonly Thread _thread;
    private ExceptionDispatchInfo? _error;
    private volatile bool _stop;
    private int _next;          // the buffer the replay takes next
    private bool _holding;      // the replay holds the buffer before _next (given back on the next call)
    private bool _ended;

    /// <summary>Starts reading <paramref name="reader"/> on a new background thread.</summary>
    public PageReadAhead(ITraceReader reader)
    {
        _stream = new PageStream(reader);
        for (int i = 0; i < Buffers; i++) _buffers[i] = new ulong[BufferPages];
        _thread = new Thread(Produce) { IsBackground = true, Name = "ecsmem trace read-ahead" };
        _thread.Start();
    }

    /// <summary>True when reading ahead can gain anything: the machine has a second core.</summary>
    public static bool Worthwhile => Environment.ProcessorCount > 1;

    private void Produce()
    {
        int slot = 0;
        while (true)
        {
            _free.Wait();
            if (_stop)
                return;
            int n;
            try
            {
                n = _stream.Read(_buffers[slot]);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
                n = -1;
            }
            _lengths[slot] = n;
            _full.Release();
            if (n <= 0)
                return; // the end of the trace (an empty buffer) or an error: nothing more to read
            slot = (slot + 1) % Buffers;
        }
    }

    /// <summary>
    /// The next batch of page numbers, valid until the next call; empty at the end of the trace. Throws what the
    /// trace reader threw, at the batch where it threw.
    /// </summary>
    public ReadOnlySpan<ulong> Next()
    {
        if (_ended)
            return [];
        if (_holding)
            _free.Release(); // the batch handed out last time has been replayed: the reader may refill it
        _full.Wait();
        int slot = _next;
        int n = _lengths[slot];
        _next = (slot + 1) % Buffers;
        _holding = true;
        if (n < 0)
        {
            _ended = true;
            _error!.Throw();
        }
        if (n == 0)
            _ended = true;
        return _buffers[slot].AsSpan(0, n);
    }

    /// <summary>Stops the reader thread (after the read under way, if any) and waits for it.</summary>
    public void Dispose()
    {
        _stop = true;
        _free.Release(); // wakes the reader if it waits for a free buffer
        _thread.Join();
        _free.Dispose();
        _full.Dispose();
    }
}
