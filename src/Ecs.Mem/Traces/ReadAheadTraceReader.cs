using System.Runtime.ExceptionServices;

namespace EcsMem.Traces;

/// <summary>
/// Runs another reader on a thread of its own, so decompression and text decoding happen on a second core while the
/// caller simulates: the producer fills blocks of <see cref="BlockRecords"/> accesses, the caller copies them out.
/// <para>The blocks form a bounded single-producer/single-consumer ring (<see cref="Blocks"/> blocks, made at
/// construction, so the steady state allocates nothing on either thread). Each side publishes a block index with one
/// interlocked increment per block and sleeps on an event only when the ring is empty (caller) or full (producer).
/// A sleeper is woken only once the other side has filled (or freed) half the ring, or at the end: on a busy
/// machine every wake-up waits for a CPU, so waking per block would cost a scheduling delay per block.</para>
/// <para>Results equal the inner reader's: the same accesses in the same order. An error the inner reader throws is
/// rethrown to the caller (the same exception object: file, line, text) once the blocks before it are consumed; the
/// block it was decoding is dropped, as the inner reader's own <c>Read</c> drops what it had decoded in the call that
/// throws, so a caller reading <see cref="BlockRecords"/> at a time sees exactly the accesses the inner reader would
/// have returned before the error.</para>
/// <para>Disposing stops the producer (it finishes the block it is decoding) and then disposes the inner reader.</para>
/// </summary>
public sealed class ReadAheadTraceReader : ITraceReader
{
    /// <summary>Accesses per block (64 KiB of records): the batch every run mode reads.</summary>
    public const int BlockRecords = 4096;

    /// <summary>Blocks in the ring: enough read-ahead to ride out a short stall of either thread.</summary>
    public const int Blocks = 32;

    /// <summary>Blocks filled (or freed) before the sleeping side is woken.</summary>
    private const int WakeAfter = Blocks / 2;

    private readonly ITraceReader _inner;
    private readonly MemoryAccess[][] _ring = new MemoryAccess[Blocks][];
    private readonly int[] _counts = new int[Blocks];
    private readonly ManualResetEventSlim _notEmpty = new(false);
    private readonly ManualResetEventSlim _notFull = new(false);
    private readonly Thread _producer;
    private long _produced;   // blocks published by the producer
    private long _consumed;   // blocks handed back by the caller
    private ExceptionDispatchInfo? _error;   // written before the end block is published
    private volatile bool _stopping;
    private bool _disposed;

    // Caller side: the block being copied out.
    private int _pos;
    private int _len;
    private bool _holding;
    private bool _finished;

    /// <summary>Starts decoding <paramref name="inner"/> on a new background thread; this reader owns it from now on.</summary>
    public ReadAheadTraceReader(ITraceReader inner)
    {
        _inner = inner;
        for (int i = 0; i < Blocks; i++)
            _ring[i] = new MemoryAccess[BlockRecords];
        _producer = new Thread(Produce) { IsBackground = true, Name = "ecsmem trace decoder" };
        _producer.Start();
    }

    public string SourceName => _inner.SourceName;

    /// <summary>Whether read-ahead helps here: there is a second CPU for the producer (the process's affinity and
    /// cgroup CPU limit count, as <see cref="Environment.ProcessorCount"/> applies them).</summary>
    public static bool Worthwhile => Environment.ProcessorCount > 1;

    /// <summary>The producer: fills free blocks until the inner reader ends or throws; the last block published
    /// holds 0 accesses and marks the end (with <see cref="_error"/> set if the inner reader threw).</summary>
    private void Produce()
    {
        long produced = 0;
        while (true)
        {
            // Wait for a free block (the caller has released produced - Blocks).
            while (produced - Volatile.Read(ref _consumed) >= Blocks)
            {
                if (_stopping) return;
                _notFull.Reset();
                if (produced - Volatile.Read(ref _consumed) < Blocks || _stopping) continue;
                _notFull.Wait();
            }
            if (_stopping) return;
            int slot = (int)(produced % Blocks);
            int n;
            try
            {
                n = _inner.Read(_ring[slot]);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
                n = 0;
            }
            _counts[slot] = n;
            produced = Interlocked.Increment(ref _produced);
            if (n == 0 || produced - Volatile.Read(ref _consumed) >= WakeAfter)
                _notEmpty.Set();
            if (n == 0)
                return;
        }
    }

    public int Read(Span<MemoryAccess> buffer)
    {
        int copied = 0;
        while (copied < buffer.Length)
        {
            if (_pos == _len)
            {
                if (_holding)
                {
                    _holding = false;
                    long consumedNow = Interlocked.Increment(ref _consumed);
                    if (Volatile.Read(ref _produced) - consumedNow <= Blocks - WakeAfter)
                        _notFull.Set();
                }
                if (_finished)
                    break;
                long consumed = _consumed;
                while (Volatile.Read(ref _produced) == consumed)
                {
                    _notEmpty.Reset();
                    if (Volatile.Read(ref _produced) != consumed) break;
                    _notEmpty.Wait();
                }
                int slot = (int)(consumed % Blocks);
                _len = _counts[slot];
                _pos = 0;
                if (_len == 0)
                {
                    _finished = true;
                    // Records this call copied before the error are dropped, as the inner reader's Read drops its own.
                    _error?.Throw();
                    break;
                }
                _holding = true;
            }
            int take = Math.Min(_len - _pos, buffer.Length - copied);
            _ring[(int)(_consumed % Blocks)].AsSpan(_pos, take).CopyTo(buffer[copied..]);
            _pos += take;
            copied += take;
        }
        if (copied == 0 && _finished)
            _error?.Throw();
        return copied;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping = true;
        _notFull.Set();
        // The producer stops after the block it is decoding; a read blocked on a stalled pipe could take longer,
        // and then the inner reader is left to the process's exit rather than disposed under the producer's feet.
        if (_producer.Join(TimeSpan.FromSeconds(10)))
        {
            _inner.Dispose();
            _notEmpty.Dispose();
            _notFull.Dispose();
        }
    }
}
