using System.Runtime.CompilerServices;
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
/// <item>With several CPUs (<see cref="CacheHierarchyConfig.Cpus"/>) each private level has one instance per
/// CPU and <see cref="SelectCpu"/> picks the CPU whose accesses follow; a shared level has one instance.
/// Private copies are kept coherent by write-invalidate (the M/I half of MESI): a write invalidates the line
/// in the other CPUs' private instances (counted as their back-invalidations, and a write-back if the copy
/// was dirty, which then marks the shared level below dirty). A read takes no action on other CPUs' copies
/// (no S/E distinction and no cache-to-cache transfer: the data comes from the level that has it here).
/// An inclusive shared L3 back-invalidates the evicted line in every CPU's instances above it.</item>
/// </list>
/// </summary>
public sealed class CacheHierarchy<TPolicy> : ICacheHierarchy where TPolicy : struct, ISetReplacement
{
    private readonly int _lineBits;
    private readonly bool _inclusive;
    private readonly SetAssociativeCache<TPolicy>[] _l1i, _l1d, _l2, _l3;
    private readonly bool _coherence;
    private int _cpu;

    /// <summary>Builds the four levels; their lines become entities of <paramref name="world"/> (one table per level).</summary>
    public CacheHierarchy(World world, CacheHierarchyConfig config, TPolicy policy)
    {
        config.Validate("cache configuration");
        Config = config;
        _l1i = Instances(world, "L1i", config.L1i, policy, ComponentType.Of<L1iLine>(), config.L1iShared, config.Cpus);
        _l1d = Instances(world, "L1d", config.L1d, policy, ComponentType.Of<L1dLine>(), config.L1dShared, config.Cpus);
        _l2 = Instances(world, "L2", config.L2, policy, ComponentType.Of<L2Line>(), config.L2Shared, config.Cpus);
        _l3 = Instances(world, "L3", config.L3, policy, ComponentType.Of<L3Line>(), config.L3Shared, config.Cpus);
        _coherence = config.Cpus > 1;
        SelectCpu(0);
        _lineBits = config.L1d.LineBits;
        _inclusive = config.Inclusion == InclusionPolicy.Inclusive;
    }

    private static SetAssociativeCache<TPolicy>[] Instances(World world, string name, CacheGeometry geometry, TPolicy policy,
        ComponentType level, bool shared, int cpus)
    {
        var a = new SetAssociativeCache<TPolicy>[shared ? 1 : cpus];
        for (int i = 0; i < a.Length; i++)
            a[i] = new SetAssociativeCache<TPolicy>(world, name, geometry, policy, level);
        return a;
    }

    /// <summary>The CPU whose accesses follow: its private instances become <see cref="L1i"/>, <see cref="L1d"/>, <see cref="L2"/>, <see cref="L3"/>.</summary>
    public void SelectCpu(int cpu)
    {
        _cpu = cpu;
        L1i = _l1i[_l1i.Length == 1 ? 0 : cpu];
        L1d = _l1d[_l1d.Length == 1 ? 0 : cpu];
        L2 = _l2[_l2.Length == 1 ? 0 : cpu];
        L3 = _l3[_l3.Length == 1 ? 0 : cpu];
    }

    public CacheHierarchyConfig Config { get; }
    /// <summary>The current CPU's L1i (see <see cref="SelectCpu"/>).</summary>
    public SetAssociativeCache<TPolicy> L1i { get; private set; } = null!;
    /// <summary>The current CPU's L1d.</summary>
    public SetAssociativeCache<TPolicy> L1d { get; private set; } = null!;
    /// <summary>The current CPU's L2 (the shared one when L2 is shared).</summary>
    public SetAssociativeCache<TPolicy> L2 { get; private set; } = null!;
    /// <summary>The current CPU's L3 (the shared one when L3 is shared).</summary>
    public SetAssociativeCache<TPolicy> L3 { get; private set; } = null!;

    /// <summary>Lines read from memory (L3 misses).</summary>
    public long MemoryReads { get; private set; }

    /// <summary>Lines written to memory: L3 victims that were dirty in L3 or in a back-invalidated copy above (once per line).</summary>
    public long MemoryWrites { get; private set; }

    public void Run(ReadOnlySpan<MemoryAccess> accesses)
    {
        foreach (ref readonly MemoryAccess a in accesses)
            Access(a);
    }

    /// <summary>
    /// One access at physical address <paramref name="pa"/>, as <see cref="Access(in MemoryAccess)"/>. Inlined into
    /// the per-access loop: an access inside one line (all but straddling ones), not a modify and needing no
    /// coherence action, costs one L1 lookup here; everything else takes the general path out of line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MemoryLevel Access(ulong pa, ushort size, AccessKind kind)
    {
        ulong first = pa >> _lineBits;
        ulong last = (pa + (size == 0 ? 0UL : size - 1UL)) >> _lineBits;
        if (first == last && kind <= AccessKind.Store && !(_coherence && kind == AccessKind.Store))
        {
            SetAssociativeCache<TPolicy> l1 = kind == AccessKind.Instr ? L1i : L1d;
            bool write = kind == AccessKind.Store;
            return l1.Access(first, write) ? MemoryLevel.L1 : MissL1(l1, first, write);
        }
        return Access(new MemoryAccess(pa, 0, size, kind));
    }

    /// <summary>Simulates one access (every line it touches).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
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
                    if (_coherence) InvalidateOtherCopies(line);
                    level = AccessLine(L1d, line, write: true);
                    break;
                default:
                    if (_coherence) InvalidateOtherCopies(line);
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
    private MemoryLevel AccessLine(SetAssociativeCache<TPolicy> l1, ulong line, bool write) =>
        l1.Access(line, write) ? MemoryLevel.L1 : MissL1(l1, line, write);

    /// <summary>The rest of <see cref="AccessLine"/> after an L1 miss (already counted): fetch, fill, write back the victim.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private MemoryLevel MissL1(SetAssociativeCache<TPolicy> l1, ulong line, bool write)
    {
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

    /// <summary>
    /// Write-invalidate: before this CPU writes <paramref name="line"/>, every other CPU's private copy goes
    /// (a dirty one is written back to the level below it, which is shared or the other CPU's own).
    /// </summary>
    private void InvalidateOtherCopies(ulong line)
    {
        bool dirty = false;
        for (int c = 0; c < Config.Cpus; c++)
        {
            if (c == _cpu)
                continue;
            if (_l1i.Length > 1 && _l1i[c].BackInvalidate(line, out bool d1)) dirty |= d1;
            if (_l1d.Length > 1 && _l1d[c].BackInvalidate(line, out bool d2)) dirty |= d2;
            if (_l2.Length > 1 && _l2[c].BackInvalidate(line, out bool d3)) dirty |= d3;
            if (_l3.Length > 1 && _l3[c].BackInvalidate(line, out bool d4)) { dirty |= d4; if (d4) MemoryWrites++; }
        }
        // The other CPU's modified data reaches the shared level (or memory when nothing below is shared).
        if (dirty)
        {
            if (_l2.Length == 1) WriteBackToL2(line);
            else if (_l3.Length == 1) WriteBackToL3(line);
        }
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
            if (_l3.Length == 1 && Config.Cpus > 1)
            {
                // A shared L3 includes every CPU's caches above it.
                for (int c = 0; c < _l1d.Length; c++) { _l1d[c].BackInvalidate(victim, out bool d); victimDirty |= d; }
                for (int c = 0; c < _l1i.Length; c++) { _l1i[c].BackInvalidate(victim, out bool d); victimDirty |= d; }
                for (int c = 0; c < _l2.Length; c++) { _l2[c].BackInvalidate(victim, out bool d); victimDirty |= d; }
            }
            else
            {
                L1i.BackInvalidate(victim, out bool d1);
                L1d.BackInvalidate(victim, out bool d2);
                L2.BackInvalidate(victim, out bool d3);
                victimDirty |= d1 | d2 | d3;
            }
        }
        if (victimDirty)
            MemoryWrites++;
    }

    public void ResetCounters()
    {
        foreach (var level in (ReadOnlySpan<SetAssociativeCache<TPolicy>[]>)[_l1i, _l1d, _l2, _l3])
            foreach (var c in level)
                c.Counters = default;
        MemoryReads = 0;
        MemoryWrites = 0;
    }

    /// <summary>Each level's counters, summed over its instances when it is private to each of several CPUs.</summary>
    public IReadOnlyList<CacheLevelReport> Levels =>
    [
        Sum(_l1i),
        Sum(_l1d),
        Sum(_l2),
        Sum(_l3),
    ];

    private static CacheLevelReport Sum(SetAssociativeCache<TPolicy>[] instances)
    {
        CacheCounters total = default;
        foreach (var c in instances)
        {
            total.ReadAccesses += c.Counters.ReadAccesses;
            total.WriteAccesses += c.Counters.WriteAccesses;
            total.ReadMisses += c.Counters.ReadMisses;
            total.WriteMisses += c.Counters.WriteMisses;
            total.WriteBacks += c.Counters.WriteBacks;
            total.BackInvalidations += c.Counters.BackInvalidations;
        }
        return new CacheLevelReport(instances[0].Name, instances[0].Geometry, total);
    }
}
