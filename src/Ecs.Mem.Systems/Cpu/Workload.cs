using EcsMem.Traces;

namespace EcsMem.Systems.Cpu;

/// <summary>
/// A process's stream of accesses: a trace reader pulled in fixed batches into a buffer the process owns.
/// The current access stays in the buffer until it completes, so a faulting access is retried, not lost.
/// </summary>
public sealed class Workload : IDisposable
{
    private readonly ITraceReader _reader;
    private readonly MemoryAccess[] _buffer;
    private int _pos;
    private int _len;
    private bool _ended;

    public Workload(ITraceReader reader, int bufferSize = 4096)
    {
        _reader = reader;
        _buffer = new MemoryAccess[bufferSize];
    }

    public string SourceName => _reader.SourceName;

    /// <summary>Accesses completed so far.</summary>
    public long Completed { get; private set; }

    /// <summary>The current access; false when the workload is exhausted.</summary>
    public bool TryPeek(out MemoryAccess access)
    {
        if (_pos == _len)
        {
            if (_ended || (_len = _reader.Read(_buffer)) == 0)
            {
                _ended = true;
                _pos = _len = 0;
                access = default;
                return false;
            }
            _pos = 0;
        }
        access = _buffer[_pos];
        return true;
    }

    /// <summary>
    /// The buffered accesses from the current one on (refilling the buffer when it is used up); empty when the
    /// workload is exhausted. Lets the access stage run a slice without a call per access; it then reports
    /// how many completed with <see cref="AdvanceBy"/>.
    /// </summary>
    public ReadOnlySpan<MemoryAccess> Available => TryPeek(out _) ? new ReadOnlySpan<MemoryAccess>(_buffer, _pos, _len - _pos) : default;

    /// <summary>Accesses left before <see cref="NextMark"/> (int.MaxValue when no mark is set): a slice must stop there.</summary>
    public int UntilMark => NextMark < 0 || NextMark <= Completed ? int.MaxValue : (int)Math.Min(NextMark - Completed, int.MaxValue);

    /// <summary><paramref name="n"/> accesses from <see cref="Available"/> completed (at most up to the next mark).</summary>
    public void AdvanceBy(int n)
    {
        if (n <= 0)
            return;
        _pos += n;
        Completed += n;
        if (Completed == NextMark)
            MarkReached?.Invoke(this);
    }

    /// <summary>The current access completed: move to the next (and report a reached mark).</summary>
    public void Advance()
    {
        _pos++;
        if (++Completed == NextMark)
            MarkReached?.Invoke(this);
    }

    /// <summary>Access count at which <see cref="MarkReached"/> fires next (-1: none). One compare per access.</summary>
    public long NextMark { get; set; } = -1;

    /// <summary>Called when <see cref="Completed"/> reaches <see cref="NextMark"/>; it sets the next mark.</summary>
    public Action<Workload>? MarkReached { get; set; }

    public void Dispose() => _reader.Dispose();
}

/// <summary>Component of a process entity: where its accesses come from.</summary>
public struct ProcessWorkload
{
    public Workload Source;
}
