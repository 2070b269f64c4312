using System.Globalization;
using EcsMem.Components;
using EcsMem.Diagnostics;

namespace EcsMem.Systems.Reporting;

/// <summary>What a <c>--snapshot WHEN</c> names: a simulated time, an access count, the end, or the least free memory.</summary>
public enum SnapshotWhenKind : byte
{
    /// <summary><c>N</c>: the first tick boundary at or after simulated cycle N.</summary>
    Cycles,
    /// <summary><c>Na</c>: the tick boundary right after the N-th completed access (all processes together).</summary>
    Accesses,
    /// <summary><c>end</c>: after the last tick.</summary>
    End,
    /// <summary>
    /// <c>peak</c>: the first moment MemFree was lowest: right after the page allocation that first brought
    /// NR_FREE_PAGES to its minimum over the run (<see cref="PageAlloc.BuddyAllocator.MinFreeAt"/>), taken in a
    /// second run of the same machine to that allocation (<see cref="SnapshotRecorder.CapturePeak"/>).
    /// </summary>
    Peak,
}

/// <summary>A parsed <c>--snapshot</c> value.</summary>
public readonly record struct SnapshotWhen(SnapshotWhenKind Kind, long Value, string Text)
{
    /// <summary>The default report's snapshot: <c>peak</c>.</summary>
    public static SnapshotWhen Peak => new(SnapshotWhenKind.Peak, 0, "peak");

    /// <summary>Parses <c>N</c> (cycles), <c>Na</c> (accesses), <c>peak</c> or <c>end</c>; anything else is an <see cref="InputException"/>.</summary>
    public static SnapshotWhen Parse(string text)
    {
        string t = text.Trim();
        if (t == "peak")
            return Peak;
        if (t == "end")
            return new(SnapshotWhenKind.End, 0, "end");
        bool acc = t.EndsWith('a');
        string digits = acc ? t[..^1] : t;
        if (digits.Length == 0 || digits.Length > 18 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            throw new InputException("command line", 0, text,
                "--snapshot WHEN must be N (simulated cycles), Na (after N accesses), peak, end, or none alone");
        return acc ? new(SnapshotWhenKind.Accesses, n, n.ToString(CultureInfo.InvariantCulture) + "a")
                   : new(SnapshotWhenKind.Cycles, n, n.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>One VMA of a snapshot: its /proc/&lt;pid&gt;/maps line and the vm_area_struct fields behind it.</summary>
/// <param name="MapsLine">The maps line, no newline.</param>
/// <param name="Start">vm_start.</param>
/// <param name="End">vm_end.</param>
/// <param name="Flags">vm_flags.</param>
/// <param name="PgOff">vm_pgoff (pages; for anonymous areas the address &gt;&gt; 12, as Linux keeps it).</param>
/// <param name="Kind">What backs the area (the vm_ops kind).</param>
public sealed record VmaSnapshot(string MapsLine, ulong Start, ulong End, VmFlags Flags, ulong PgOff, VmaKind Kind)
{
    /// <summary>The vm_ops kind as printed: anonymous, file, heap, stack or special.</summary>
    public string KindName => Kind switch
    {
        VmaKind.Anonymous => "anonymous",
        VmaKind.File => "file",
        VmaKind.Heap => "heap",
        VmaKind.Stack => "stack",
        _ => "special",
    };

    /// <summary>vm_flags decoded as Linux's names, e.g. <c>VM_READ|VM_WRITE|VM_MAYREAD</c>.</summary>
    public string FlagNames => SnapshotFormat.FlagNames(Flags);

    /// <summary>
    /// Resident pages of the area as /proc/PID/smaps counts its <c>Rss</c> (smaps_pte_entry): present PTEs whose page
    /// is a normal page, so the shared zero page is left out. Only the HTML page shows it.
    /// </summary>
    public long Rss { get; init; }

    /// <summary>Swap entries in the area's PTEs (/proc/PID/smaps <c>Swap</c>, in pages).</summary>
    public long Swap { get; init; }
}

/// <summary>One page-table page at a snapshot: its mm-local id, level, frame and non-empty entries (index, raw value).</summary>
/// <param name="Id">The mm-local table id (what an upper-level entry's PFN field holds in the simulator).</param>
/// <param name="Level">0 = PTE table, Levels-1 = the PGD.</param>
/// <param name="Frame">The frame charged for the table, -1 when none.</param>
/// <param name="Index">The indices of the non-empty entries, ascending.</param>
/// <param name="Entry">The raw entries, parallel to <paramref name="Index"/>.</param>
public sealed record PageTablePageSnapshot(int Id, int Level, long Frame, int[] Index, ulong[] Entry);

/// <summary>
/// A process's page tables at a snapshot, tables in walk order (the PGD first, then depth first by address), for the
/// HTML page's walker. Leaf tables past <see cref="SnapshotRecorder.PageTableEntryCap"/> entries are left out and
/// counted in <see cref="OmittedTables"/> / <see cref="OmittedEntries"/>.
/// </summary>
public sealed record PageTablesSnapshot(int Root, IReadOnlyList<PageTablePageSnapshot> Tables, int OmittedTables, long OmittedEntries);

/// <summary>One process's address space at a snapshot: the mm_struct and its VMAs.</summary>
public sealed record ProcessSnapshot(int Pid, string Name, string State, MmStruct Mm, IReadOnlyList<VmaSnapshot> Vmas)
{
    /// <summary>/proc/PID/smaps_rollup at that moment (null only in snapshots built without it).</summary>
    public SmapsRollupSnapshot? SmapsRollup { get; init; }

    /// <summary>/proc/PID/smaps at that moment, one entry per VMA and the gate area (only with <c>--smaps</c>; else null).</summary>
    public IReadOnlyList<SmapsVmaSnapshot>? Smaps { get; init; }

    /// <summary>The populated page tables, when the recorder was asked for them (the HTML page); else null.</summary>
    public PageTablesSnapshot? PageTables { get; init; }
}

/// <summary>
/// The machine at one <c>--snapshot</c> moment (a tick boundary): every live process's mm_struct and VMAs, and
/// /proc/meminfo and /proc/buddyinfo.
/// </summary>
public sealed record Snapshot
{
    /// <summary>The WHEN as given (normalised): <c>1000</c>, <c>5a</c>, <c>peak</c>, <c>end</c>.</summary>
    public required string When { get; init; }
    /// <summary>False when the run ended before the moment came (then only <see cref="Cycles"/> and <see cref="Accesses"/> at the end are set).</summary>
    public required bool Reached { get; init; }
    /// <summary>Why a moment that could have been reached was not taken (null: taken, or simply not reached).</summary>
    public string? NotTakenBecause { get; init; }
    /// <summary>Simulated time of the tick boundary, in cycles.</summary>
    public required ulong Cycles { get; init; }
    /// <summary>Accesses completed by then (all processes).</summary>
    public required long Accesses { get; init; }
    public required IReadOnlyList<ProcessSnapshot> Processes { get; init; }
    /// <summary>/proc/meminfo lines (kB).</summary>
    public required IReadOnlyList<NamedValue> MemInfo { get; init; }
    /// <summary>Free blocks per order (free_area[order].nr_free).</summary>
    public required IReadOnlyList<long> BuddyFree { get; init; }
    /// <summary>The /proc/buddyinfo line.</summary>
    public required string BuddyInfo { get; init; }
    /// <summary>/proc/pagetypeinfo then (null when not reached).</summary>
    public string? PageTypeInfo { get; init; }
    /// <summary>pagetypeinfo's figures then (null when not reached).</summary>
    public PageTypeFigures? PageTypes { get; init; }
    /// <summary>/proc/vmstat at that moment: the gauges, then every counter (the end report's list and order).</summary>
    public IReadOnlyList<NamedValue> VmStat { get; init; } = [];
    /// <summary>/proc/zoneinfo for the zone (null when not reached).</summary>
    public ZoneInfoSnapshot? ZoneInfo { get; init; }

    /// <summary>The memory cgroups' files then (only when the scenario declares cgroups).</summary>
    public IReadOnlyList<MemcgFile>? Cgroups { get; init; }

    /// <summary>/sys/kernel/debug/lru_gen at the snapshot when the multi-gen LRU is on (null otherwise).</summary>
    public IReadOnlyList<LruGenFile>? LruGen { get; init; }
    /// <summary>
    /// For <c>peak</c>: the lowest NR_FREE_PAGES and the buddy allocator's allocation count at which it was
    /// first reached (the capture point); null for the other moments.
    /// </summary>
    public PeakPoint? Peak { get; init; }
}

/// <summary>Where <c>--snapshot peak</c> was taken.</summary>
/// <param name="FreePages">The lowest NR_FREE_PAGES of the run (MemFree / 4 kB).</param>
/// <param name="AllocCount">The page allocations done (buddy allocator, since boot) when it was first reached; the snapshot is taken right after that allocation.</param>
/// <param name="AtStart">True when free memory never fell below its level before the first tick (the snapshot is then the machine as built).</param>
public sealed record PeakPoint(long FreePages, long AllocCount, bool AtStart);
