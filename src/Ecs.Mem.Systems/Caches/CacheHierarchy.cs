using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Timing;
using EcsMem.Traces;

namespace EcsMem.Systems.Caches;

/// <summary>
/// L1i + L1d + unified L2 + unified L3, write-back and write-allocate at every level.
/// <list type="bullet">
/// <item>An access touches every line its bytes cover (a straddling access touches two lines, each
/// counted as one access at L1).</item>
/// <item>An L1 miss reads the line from L2; an L2 miss reads it from L3; an L3 miss from memory.
/// Each lower level counts those fetches as read accesses.</item>
/// <item>A load is a read, a store a write (sets the dirty bit), a modify a read then a write of
/// the same line (the write always hits), an instruction fetch a read of L1i.</item>
/// <item>A dirty victim is written back to the next level, which marks its copy dirty or, if it
/// has none (L2 does not include L1; a non-inclusive L3 includes nothing), installs it dirty.
/// Write-backs are not demand accesses and are counted only as the sender's <c>WriteBacks</c>.</item>
/// <item>L2 is non-inclusive of L1. L3 follows <see cref="InclusionPolicy"/>: when inclusive, a
/// line L3 evicts is removed from L1i, L1d and L2 (each counts a back-invalidation, plus a
/// write-back if its copy was dirty).</item>
/// </list>
/// </summary>
public sealed class CacheHierarchy<TPolicy> : ICacheHierarchy where TPolicy : struct, ISetReplacement
{
    private readonly int _lineBits;
    private readonly bool _inclusive;

    /// <summary>Builds the four levels; their lines become entities of <paramref name="world"/> (one table per level).</summary>
    public CacheHierarchy(World world, CacheHierarchyConfig config, TPolicy policy)
    {
        config.Validate("cache configuration");
        Config = config;
        L1i = new SetAssociativeCache<TPolicy>(world, "L1i", config.L1i, policy, ComponentType.Of<L1iLine>());
        L1d = new SetAssociativeCache<TPolicy>(world, "L1d", config.L1d, policy, ComponentType.Of<L1dLine>());
        L2 = new SetAssociativeCache<TPolicy>(world, "L2", config.L2, policy, ComponentType.Of<L2Line>());
        L3 = new SetAssociativeCache<TPolicy>(world, "L3", config.L3, policy, ComponentType.Of<L3Line>());
        _lineBits = config.L1d.LineBits;
        _inclusive = config.Inclusion == InclusionPolicy.Inclusive;
    }

    public CacheHierarchyConfig Config { get; }
    public SetAssociativeCache<TPolicy> L1i { get; }
    public SetAssociativeCache<TPolicy> L1d { get; }
    public SetAssociativeCache<TPolicy> L2 { get; }
    public SetAssociativeCache<TPolicy> L3 { get; }

    /// <summary>Lines read from memory (L3 misses).</summary>
    public long MemoryReads { get; private set; }

    /// <summary>Lines written to memory: L3 victims that were dirty in L3 or in a back-invalidated copy above (once per line).</summary>
    public long MemoryWrites { get; private set; }

    public void Run(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
            Access(a);
    }

    /// <summary>Simulates one access (every line it touches).</summary>
    public MemoryLevel Access(in MemoryAccess a)
    {
        ulong first = a.Address >> _lineBits;
        ulong last = (a.Address + (a.Size == 0 ? 0UL : a.Size - 1UL)) >> _lineBits;
        MemoryLevel deepest = MemoryLevel.L1;
        for (ulong line = first; ; line++)
        {
            MemoryLevel level;
            switch (a.Kind)
            {
                case AccessKind.Instr:
                    level = AccessLine(L1i, line, write: false);
                    break;
                case AccessKind.Load:
                    level = AccessLine(L1d, line, write: false);
                    break;
                case AccessKind.Store:
                    level = AccessLine(L1d, line, write: true);
                    break;
                default:
                    level = AccessLine(L1d, line, write: false);
                    AccessLine(L1d, line, write: true);
                    break;
            }
            if (level > deepest)
                deepest = level;
            if (line == last)
                break;
        }
        return deepest;
    }

    /// <summary>One line through L1; returns the level that supplied it.</summary>
    private MemoryLevel AccessLine(SetAssociativeCache<TPolicy> l1, ulong line, bool write)
    {
        if (l1.Access(line, write))
            return MemoryLevel.L1;
        MemoryLevel level = FetchIntoL2(line);
        if (l1.Fill(line, write, out ulong victim, out bool victimDirty) && victimDirty)
            WriteBackToL2(victim);
        return level;
    }

    /// <summary>Makes sure L2 holds <paramref name="line"/> (an L1 miss reading it); returns where it came from.</summary>
    private MemoryLevel FetchIntoL2(ulong line)
    {
        if (L2.Access(line, write: false))
            return MemoryLevel.L2;
        MemoryLevel level = MemoryLevel.L3;
        if (!L3.Access(line, write: false))
        {
            MemoryReads++;
            FillL3(line, dirty: false);
            level = MemoryLevel.Dram;
        }
        if (L2.Fill(line, false, out ulong victim, out bool victimDirty) && victimDirty)
            WriteBackToL3(victim);
        return level;
    }

    private void WriteBackToL2(ulong line)
    {
        if (L2.MarkDirty(line))
            return;
        if (L2.Fill(line, true, out ulong victim, out bool victimDirty) && victimDirty)
            WriteBackToL3(victim);
    }

    private void WriteBackToL3(ulong line)
    {
        if (!L3.MarkDirty(line))
            FillL3(line, dirty: true);
    }

    private void FillL3(ulong line, bool dirty)
    {
        if (!L3.Fill(line, dirty, out ulong victim, out bool victimDirty))
            return;
        if (_inclusive)
        {
            // Inclusion: the evicted line may not stay above. Dirty copies there are counted as
            // write-backs of the level that held them; their data goes to memory with the victim.
            L1i.BackInvalidate(victim, out bool d1);
            L1d.BackInvalidate(victim, out bool d2);
            L2.BackInvalidate(victim, out bool d3);
            victimDirty |= d1 | d2 | d3;
        }
        if (victimDirty)
            MemoryWrites++;
    }

    public IReadOnlyList<CacheLevelReport> Levels =>
    [
        new(L1i.Name, L1i.Geometry, L1i.Counters),
        new(L1d.Name, L1d.Geometry, L1d.Counters),
        new(L2.Name, L2.Geometry, L2.Counters),
        new(L3.Name, L3.Geometry, L3.Counters),
    ];
}
