using System.Runtime.CompilerServices;

namespace EcsMem.Systems.Timing;

/// <summary>
/// Accumulates simulated cycles by <see cref="CycleCategory"/> and the number of memory accesses, and
/// derives the averages reports print.
/// <para>
/// <b>AMAT</b> (average memory access time) = (translation + memory cycles) / accesses: the hardware view
/// of the textbook formula hit time + miss rate × miss penalty, applied level by level.
/// <b>Effective access time</b> = all cycles (faults, reclaim and switches included) / accesses: what a
/// program pays per access on average once the OS's work is spread over its accesses.
/// </para>
/// </summary>
public sealed class CycleAccounting
{
    private const int Categories = 8;
    private readonly long[] _cycles = new long[Categories];

    /// <summary>Memory accesses recorded.</summary>
    public long Accesses { get; private set; }

    /// <summary>Cycles charged to <paramref name="category"/>.</summary>
    public long this[CycleCategory category] => _cycles[(int)category];

    /// <summary>All cycles of every category.</summary>
    public long TotalCycles
    {
        get
        {
            long t = 0;
            foreach (long c in _cycles) t += c;
            return t;
        }
    }

    /// <summary>Records one access and its translation and cache/memory cycles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordAccess(long translationCycles, long memoryCycles)
    {
        Accesses++;
        _cycles[(int)CycleCategory.Translation] += translationCycles;
        _cycles[(int)CycleCategory.Memory] += memoryCycles;
    }

    /// <summary>
    /// Records <paramref name="accesses"/> accesses at once with their summed translation and cache/memory cycles: the
    /// same totals as that many <see cref="RecordAccess"/> calls (the access stage tallies a slice, then records it).
    /// </summary>
    public void RecordAccesses(long accesses, long translationCycles, long memoryCycles)
    {
        Accesses += accesses;
        _cycles[(int)CycleCategory.Translation] += translationCycles;
        _cycles[(int)CycleCategory.Memory] += memoryCycles;
    }

    /// <summary>Charges <paramref name="cycles"/> to <paramref name="category"/> without counting an access.</summary>
    public void Charge(CycleCategory category, long cycles) => _cycles[(int)category] += cycles;

    /// <summary>(translation + memory cycles) / accesses; 0 before the first access.</summary>
    public double Amat =>
        Accesses == 0 ? 0 : (double)(_cycles[(int)CycleCategory.Translation] + _cycles[(int)CycleCategory.Memory]) / Accesses;

    /// <summary>All cycles / accesses; 0 before the first access.</summary>
    public double EffectiveAccessTime => Accesses == 0 ? 0 : (double)TotalCycles / Accesses;

    /// <summary>Cycles of <paramref name="category"/> per access (one column of the breakdown).</summary>
    public double CyclesPerAccess(CycleCategory category) => Accesses == 0 ? 0 : (double)_cycles[(int)category] / Accesses;

    /// <summary>Adds another accumulator's totals (e.g. per-CPU accounting into a machine total).</summary>
    public void Add(CycleAccounting other)
    {
        Accesses += other.Accesses;
        for (int i = 0; i < Categories; i++) _cycles[i] += other._cycles[i];
    }

    public void Reset()
    {
        Accesses = 0;
        Array.Clear(_cycles);
    }
}
