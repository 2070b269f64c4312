using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.Caches.Cachegrind;

/// <summary>
/// Cachegrind's cache model (valgrind --tool=cachegrind --cache-sim=yes) driven by a Lackey trace:
/// I1 and D1 first-level caches and one unified LL.
/// <list type="bullet">
/// <item>Every instruction is one I reference of its length; every load one Dr; every store one
/// Dw; a modify (load+store of one location in one instruction) is one Dr, nothing else.</item>
/// <item>A reference straddling two lines counts once and misses if either line misses.</item>
/// <item>LL is consulted only on a first-level miss, with the same address and size (so for a
/// straddling reference LL looks up both lines, even the one that hit in L1).</item>
/// <item>Data references are clamped to the smallest line size of the three caches, as Cachegrind
/// does for very large accesses (e.g. FXSAVE), so a reference never spans more than two lines.</item>
/// </list>
/// </summary>
public sealed class CachegrindSimulator
{
    private readonly CachegrindCache _i1;
    private readonly CachegrindCache _d1;
    private readonly CachegrindCache _ll;
    private readonly int _maxDataSize;
    private CachegrindCounts _counts;

    /// <summary>
    /// Builds I1, D1 and LL with their lines as entities of <paramref name="world"/>, marked
    /// <see cref="L1iLine"/>, <see cref="L1dLine"/> and <see cref="L3Line"/> (LL plays the last level).
    /// </summary>
    public CachegrindSimulator(World world, CachegrindConfig config)
        : this(world, config, vectorWays: true)
    {
    }

    /// <summary>As the public constructor; <paramref name="vectorWays"/> false keeps the caches on their slot-by-slot
    /// set search (tests compare the two paths).</summary>
    internal CachegrindSimulator(World world, CachegrindConfig config, bool vectorWays)
    {
        Config = config;
        _i1 = new CachegrindCache(world, config.I1, ComponentType.Of<L1iLine>(), vectorWays);
        _d1 = new CachegrindCache(world, config.D1, ComponentType.Of<L1dLine>(), vectorWays);
        _ll = new CachegrindCache(world, config.LL, ComponentType.Of<L3Line>(), vectorWays);
        _maxDataSize = Math.Min(config.I1.LineBytes, Math.Min(config.D1.LineBytes, config.LL.LineBytes));
    }

    public CachegrindConfig Config { get; }

    public CachegrindCache I1 => _i1;
    public CachegrindCache D1 => _d1;
    public CachegrindCache LL => _ll;

    public CachegrindCounts Counts => _counts;

    /// <summary>No cache line has this number (lines are at least 16 bytes, so line numbers stay below 2^60).</summary>
    private const ulong NoLine = ulong.MaxValue;

    /// <summary>
    /// Replays a batch with the same result as <see cref="Access"/> on each access in turn (counts and every set's
    /// LRU order), faster: a reference to one line that is the line the previous reference to the same first-level
    /// cache ended on (within this batch) is a hit that changes nothing, since that line is already the most recent
    /// of its set and no other reference to that cache came between; it is only counted. Any other single-line
    /// reference that finds its line most recent is also a hit without a change, and so is a reference straddling
    /// two lines that are both the most recent of their sets (two different sets, since the lines are consecutive
    /// and a one-set cache cannot hold both in front); the rest take the full lookup. LL is untouched either way (it
    /// is consulted only on a first-level miss). Sizes 1 to the clamp (<see cref="_maxDataSize"/>, at most any line)
    /// need no adjustment and cover at most two lines; sizes outside (0, read as 1, and larger ones) take the full
    /// lookup out of line. The counts are kept in locals (Dr is what is neither Ir nor Dw) and added once per batch.
    /// </summary>
    [SkipLocalsInit]
    public void Run(ReadOnlySpan<MemoryAccess> accesses)
    {
        // The last line each first-level cache made most recent in this batch (batches start afresh, so nothing
        // that touches a cache between two calls can make these stale).
        ulong lastI = NoLine, lastD = NoLine;
        int iBits = _i1.Geometry.LineBits, dBits = _d1.Geometry.LineBits;
        uint maxData = (uint)_maxDataSize;
        long ir = 0, dw = 0;
        foreach (ref readonly MemoryAccess a in accesses)
        {
            ulong address = a.Address;
            uint size = a.Size;
            // One unsigned compare finds both size 0 and sizes past the clamp (rare in real traces). Passing the
            // locals by reference here measured faster than returning an adjusted size (the JIT allocates the
            // loop's registers better; 5-9 % of the loop on the three programs' traces, NativeAOT x86-64-v3).
            if (size - 1 >= maxData)
            {
                OddSize(in a, ref lastI, ref lastD, ref ir, ref dw);
                continue;
            }
            if (a.Kind == AccessKind.Instr)
            {
                ir++;
                ulong first = address >> iBits;
                ulong last = (address + size - 1) >> iBits;
                if (first == last
                    ? first == lastI || _i1.IsMostRecent(first)
                    : first + 1 == last && _i1.IsMostRecent(first) && _i1.IsMostRecent(last))
                {
                    lastI = last;
                    continue;
                }
                InstrSlow(address, (int)size);
                lastI = last;
            }
            else
            {
                bool store = a.Kind == AccessKind.Store;
                dw += store ? 1 : 0;
                ulong first = address >> dBits;
                ulong last = (address + size - 1) >> dBits;
                if (first == last
                    ? first == lastD || _d1.IsMostRecent(first)
                    : first + 1 == last && _d1.IsMostRecent(first) && _d1.IsMostRecent(last))
                {
                    lastD = last;
                    continue;
                }
                DataSlow(address, (int)size, store);
                lastD = last;
            }
        }
        _counts.Ir += ir;
        _counts.Dw += dw;
        _counts.Dr += accesses.Length - ir - dw;
    }

    /// <summary>A reference of size 0 (read as 1) or past the clamp (data references are clamped to
    /// <see cref="_maxDataSize"/>; instruction fetches keep theirs) for <see cref="Run"/>: counted, looked up in full,
    /// and its cache's last line set.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OddSize(in MemoryAccess a, ref ulong lastI, ref ulong lastD, ref long ir, ref long dw)
    {
        ulong address = a.Address;
        uint size = a.Size == 0 ? 1u : a.Size;
        if (a.Kind == AccessKind.Instr)
        {
            ir++;
            InstrSlow(address, (int)size);
            lastI = (address + size - 1) >> _i1.Geometry.LineBits;
        }
        else
        {
            size = Math.Min(size, (uint)_maxDataSize);
            bool store = a.Kind == AccessKind.Store;
            dw += store ? 1 : 0;
            DataSlow(address, (int)size, store);
            lastD = (address + size - 1) >> _d1.Geometry.LineBits;
        }
    }

    /// <summary>The full I1 (and on a miss LL) lookup of an instruction fetch, references already counted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void InstrSlow(ulong address, int size)
    {
        if (_i1.IsMiss(address, size))
        {
            _counts.I1mr++;
            if (_ll.IsMiss(address, size))
                _counts.ILmr++;
        }
    }

    /// <summary>The full D1 (and on a miss LL) lookup of a data reference (size already clamped), references already counted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DataSlow(ulong address, int size, bool store)
    {
        if (_d1.IsMiss(address, size))
        {
            if (store)
            {
                _counts.D1mw++;
                if (_ll.IsMiss(address, size))
                    _counts.DLmw++;
            }
            else
            {
                _counts.D1mr++;
                if (_ll.IsMiss(address, size))
                    _counts.DLmr++;
            }
        }
    }

    public void Access(in MemoryAccess a)
    {
        int size = a.Size == 0 ? 1 : a.Size;
        switch (a.Kind)
        {
            case AccessKind.Instr:
                _counts.Ir++;
                if (_i1.IsMiss(a.Address, size))
                {
                    _counts.I1mr++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.ILmr++;
                }
                break;
            case AccessKind.Store:
                if (size > _maxDataSize) size = _maxDataSize;
                _counts.Dw++;
                if (_d1.IsMiss(a.Address, size))
                {
                    _counts.D1mw++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.DLmw++;
                }
                break;
            default: // Load and Modify are both one data read
                if (size > _maxDataSize) size = _maxDataSize;
                _counts.Dr++;
                if (_d1.IsMiss(a.Address, size))
                {
                    _counts.D1mr++;
                    if (_ll.IsMiss(a.Address, size))
                        _counts.DLmr++;
                }
                break;
        }
    }
}
