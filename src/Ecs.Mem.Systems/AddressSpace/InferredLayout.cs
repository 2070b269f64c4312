using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Traces;

namespace EcsMem.Systems.AddressSpace;

/// <summary>
/// Inference mode for traces that come without a memory layout (raw Valgrind Lackey output): the first
/// access to an unmapped address creates an anonymous private VMA around it, the
/// <see cref="Granularity"/>-aligned block containing it (2 MiB by default) clipped to the gap between its
/// neighbours, r-xp for instruction fetches and rw-p for data. Neighbouring inferred blocks with the same
/// permissions merge like any mmap, so a growing heap or stack becomes one VMA. A data access to an
/// r-x block, or a fetch from an rw- block, widens that whole VMA's permissions (to rwx) instead of
/// faulting, so a raw trace never takes a spurious SIGSEGV. Addresses at or above TASK_SIZE (or below
/// mmap_min_addr) are refused: those are real faults.
/// </summary>
public sealed class InferredLayout
{
    /// <summary>Default block size: 2 MiB, one PMD on x86-64.</summary>
    public const ulong DefaultGranularity = 2UL << 20;

    /// <summary>Where a generator runs in an inferred address space that has no heap of its own (no brk area).</summary>
    public const ulong DefaultDataBase = 0x1000_0000;

    private readonly VmaCache _cache = new();

    public InferredLayout(Mm mm, ulong granularity = DefaultGranularity)
    {
        if (granularity < Pte.PageSize || (granularity & (granularity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(granularity), granularity, "granularity must be a power of two of at least one page");
        }

        Mm = mm;
        Granularity = granularity;
    }

    /// <summary>The address space being inferred.</summary>
    public Mm Mm { get; }

    /// <summary>Alignment and size of the block created around a new address.</summary>
    public ulong Granularity { get; }

    /// <summary>VMAs created so far.</summary>
    public long Created { get; private set; }

    /// <summary>VMAs whose permissions were widened.</summary>
    public long Widened { get; private set; }

    /// <summary>The lookup cache used per access (exposes hit/miss counts).</summary>
    public VmaCache Cache => _cache;

    /// <summary>
    /// Makes sure <paramref name="addr"/> is mapped with the permission <paramref name="kind"/> needs,
    /// creating or widening a VMA if not. Returns false only for addresses no user VMA can cover.
    /// Steady state (address already mapped with the right permission) is a cached lookup, no allocation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool EnsureMapped(ulong addr, AccessKind kind, List<VmaChange>? changes = null)
    {
        VmFlags need = Needed(kind);
        int idx = Mm.Vmas.FindVma(addr, _cache);
        if (idx >= 0)
        {
            ref readonly Vma v = ref Mm.Vmas[idx];
            if (v.Start <= addr)
            {
                return (v.Flags & need) == need || Widen(idx, need, changes);
            }
        }

        return Create(addr, need, changes);
    }

    private static VmFlags Needed(AccessKind kind) => kind switch
    {
        AccessKind.Instr => VmFlags.Read | VmFlags.Exec,
        AccessKind.Load => VmFlags.Read,
        _ => VmFlags.Read | VmFlags.Write,
    };

    private bool Widen(int idx, VmFlags need, List<VmaChange>? changes)
    {
        ref readonly Vma v = ref Mm.Vmas[idx];
        VmFlags flags = v.Flags | need;
        Mm.CommitUnchecked = true;
        long r = Mm.MprotectFixup(idx, v.Start, v.End, flags, changes);
        Mm.CommitUnchecked = false;
        if (r < 0)
        {
            return false;
        }

        Widened++;
        return true;
    }

    private bool Create(ulong addr, VmFlags need, List<VmaChange>? changes)
    {
        if (addr >= Mm.Struct.TaskSize || addr < Mm.MmapMinAddr)
        {
            return false;
        }

        ulong start = addr & ~(Granularity - 1);
        ulong end = start + Granularity;
        if (end > Mm.Struct.TaskSize || end < start)
        {
            end = Mm.Struct.TaskSize;
        }

        start = Math.Max(start, Mm.MmapMinAddr & Pte.PageMask);
        int next = Mm.Vmas.FindVmaPrev(addr, out int prev);
        if (prev >= 0)
        {
            start = Math.Max(start, Mm.Vmas[prev].End);
        }

        if (next >= 0)
        {
            end = Math.Min(end, Mm.Vmas[next].Start);
        }

        // Code regions are r-x, everything else rw-: a load is usually followed by stores to the same data.
        Prot prot = (need & VmFlags.Exec) != 0 ? Prot.Read | Prot.Exec : Prot.Read | Prot.Write;
        // The block stands for memory the traced program had: charged to overcommit, never refused.
        Mm.CommitUnchecked = true;
        long r = Mm.DoMmap(start, end - start, prot, MapFlags.Private | MapFlags.Anonymous | MapFlags.FixedNoReplace, -1, 0, changes);
        Mm.CommitUnchecked = false;
        if (r < 0)
        {
            return false;
        }

        Created++;
        return true;
    }
}
