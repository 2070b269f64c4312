using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;

namespace EcsMem.Systems.AddressSpace;

/// <summary>One level of a software page walk: the table read, the entry found, and the table it leads to.</summary>
/// <param name="Level">0 = PTE, Levels-1 = PGD.</param>
/// <param name="Name">PGD, P4D, PUD, PMD or PTE.</param>
/// <param name="Index">The entry's index in the table.</param>
/// <param name="TableId">The mm-local page id of the table read.</param>
/// <param name="TableRow">The <see cref="PageTableStore"/> row holding it.</param>
/// <param name="TableFrame">The frame charged for the table (<see cref="PageTableFrame.Pfn"/>), -1 when not charged.</param>
/// <param name="Entry">The raw entry.</param>
/// <param name="NextTableId">For an upper level: the child table's page id, -1 when the entry is none.</param>
/// <param name="NextFrame">The child table's frame (upper levels) or the mapped page's frame (a present PTE), else -1.</param>
public readonly record struct WalkStep(int Level, string Name, int Index, int TableId, int TableRow, int TableFrame, ulong Entry, int NextTableId, long NextFrame);

/// <summary>
/// What <c>ecsmem explain --scenario</c> reports for one address of one process at one moment: the walk of its
/// real page tables level by level, the VMA covering the address and what a fault there would do, with the fault
/// handler's own rules (<see cref="FaultHandlingSystem.Classify"/>).
/// </summary>
public static class PageWalkExplainer
{
    /// <summary>Walks <paramref name="mm"/>'s tables for <paramref name="va"/> without allocating; stops at the first none entry.</summary>
    public static List<WalkStep> Walk(Kernel.Kernel kernel, MmState mm, ulong va)
    {
        var steps = new List<WalkStep>();
        PageTable pt = mm.Tables;
        if (pt.IsReleased)
        {
            return steps;
        }

        PagingMode mode = pt.Mode;
        int page = pt.Root;
        for (int level = mode.Levels - 1; level >= 0; level--)
        {
            int index = mode.Index(va, level);
            ulong e = pt.Entries(page)[index];
            int frame = kernel.World.TryGet(pt.EntityOf(page), out PageTableFrame f) && f.InUse ? f.Pfn : -1;
            int next = -1;
            long nextFrame = -1;
            if (level > 0 && (e & Pte.PresentBit) != 0)
            {
                next = (int)((e & Pte.PfnMask) >> Pte.PageShift);
                nextFrame = kernel.World.TryGet(pt.EntityOf(next), out PageTableFrame nf) && nf.InUse ? nf.Pfn : -1;
            }
            else if (level == 0 && (e & Pte.PresentBit) != 0)
            {
                nextFrame = (long)new Pte(e).Pfn;
            }

            steps.Add(new WalkStep(level, AddressSplit.LevelName(mode, level), index, page, pt.RowOf(page), frame, e, next, nextFrame));
            if (level == 0 || next < 0)
            {
                break;
            }

            page = next;
        }

        return steps;
    }

    /// <summary>The flags of an entry in the kernel's words: P RW US A D NX …, or none, a swap entry, PROTNONE.</summary>
    public static string DecodeFlags(ulong e, int level, bool hasNx)
    {
        if (e == 0)
        {
            return "none (pte_none: nothing mapped, no swap entry)";
        }

        var p = new Pte(e);
        if (!p.Present)
        {
            if (p.IsSwap)
            {
                SwapEntry s = p.ToSwapEntry();
                return string.Create(CultureInfo.InvariantCulture, $"not present: swap entry, type {s.Type}, offset {s.Offset} (slot {s.Offset} of the swap area)");
            }

            return "not present: PROTNONE (a PROT_NONE page: the frame is kept, every access faults)";
        }

        var names = new List<string> { "P" };
        if (p.Writable) names.Add("RW");
        else names.Add("RO");
        names.Add(p.User ? "US" : "S");
        if ((e & Pte.PwtBit) != 0) names.Add("PWT");
        if ((e & Pte.PcdBit) != 0) names.Add("PCD");
        if (p.Accessed) names.Add("A");
        if (p.Dirty) names.Add("D");
        if (p.Huge) names.Add(level == 0 ? "PAT" : "PSE");
        if (p.Global) names.Add("G");
        if (p.Special) names.Add("SPECIAL");
        if (p.Cow) names.Add("COW");
        if (p.SoftDirty) names.Add("SOFT_DIRTY");
        if (hasNx && !p.Executable) names.Add("NX");
        return string.Join(' ', names);
    }

    /// <summary>
    /// The whole explanation for <paramref name="va"/> in <paramref name="process"/>'s address space now: its split,
    /// the walk, the VMA and the fault a read and a write there would take.
    /// </summary>
    public static string Explain(Kernel.Kernel kernel, Entity process, ulong va)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        ref Process proc = ref kernel.World.Get<Process>(process);
        MmState mm = kernel.Tasks.MmOf(process);
        PagingMode mode = mm.Mm.Mode;
        var sb = new StringBuilder();
        sb.Append(AddressSplit.Of(va, mode).Describe()).Append('\n');
        sb.Append("pid ").Append(proc.Pid.ToString(inv)).Append(" (").Append(kernel.Tasks.ProcessName(proc)).Append("), ")
          .Append(StateName(proc.State)).Append(", mm ").Append(mm.Id.ToString(inv)).Append('\n');

        if (mm.Tables.IsReleased)
        {
            sb.Append("page tables: none: the address space was torn down at exit (exit_mmap, mm_free_pgd)\n");
            return sb.ToString();
        }

        sb.Append("page walk (no table is allocated by this walk):\n");
        List<WalkStep> steps = Walk(kernel, mm, va);
        foreach (WalkStep s in steps)
        {
            sb.Append("  ").Append(s.Name.PadRight(4)).Append(" table id ").Append(s.TableId.ToString(inv))
              .Append(" (store row ").Append(s.TableRow.ToString(inv)).Append(", frame ").Append(Pfn(s.TableFrame)).Append(')')
              .Append(" entry [").Append(s.Index.ToString(inv)).Append("] = 0x").Append(s.Entry.ToString("x16", inv)).Append('\n');
            sb.Append("       flags: ").Append(DecodeFlags(s.Entry, s.Level, mode.HasNx)).Append('\n');
            if (s.Level > 0 && s.NextTableId >= 0)
            {
                string child = AddressSplit.LevelName(mode, s.Level - 1);
                sb.Append("       → ").Append(child).Append(" table id ").Append(s.NextTableId.ToString(inv))
                  .Append(" (frame ").Append(Pfn(s.NextFrame)).Append("; the simulator keeps the table id in the entry's PFN field)\n");
            }
            else if (s.Level > 0)
            {
                sb.Append("       → no ").Append(AddressSplit.LevelName(mode, s.Level - 1))
                  .Append(" table: the walk stops here; a fault would allocate the missing tables (__pte_alloc and friends)\n");
            }
            else if (s.NextFrame >= 0)
            {
                ulong phys = ((ulong)s.NextFrame << Pte.PageShift) | (va & (Pte.PageSize - 1));
                sb.Append("       → page frame ").Append(Pfn(s.NextFrame))
                  .Append(s.NextFrame == kernel.Zone.ZeroPfn ? " (the shared zero page)" : "")
                  .Append(", physical address 0x").Append(phys.ToString("x", inv)).Append('\n');
            }
        }

        int idx = mm.Mm.Vmas.FindVma(va);
        bool covered = idx >= 0 && va >= mm.Mm.Vmas[idx].Start;
        sb.Append("VMA: ");
        if (covered)
        {
            ProcMaps.WriteVma(sb, mm.Mm.Vmas[idx], mm.Mm.Files, mode.PointerSize);
        }
        else
        {
            sb.Append("no VMA covers this address\n");
        }

        ulong pte = steps.Count > 0 && steps[^1].Level == 0 ? steps[^1].Entry : 0;
        sb.Append("a fault here:\n");
        foreach ((string what, AccessKind kind) in new[] { ("read", AccessKind.Load), ("write", AccessKind.Store) })
        {
            sb.Append("  ").Append(what).Append(": ");
            if (covered)
            {
                sb.Append(DescribeFault(kernel, mm.Mm.Vmas[idx], pte, kind, va)).Append('\n');
            }
            else
            {
                sb.Append(DescribeNoVma(mm, idx, va)).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>What the fault handler would do for an access of <paramref name="kind"/> at <paramref name="va"/>, in words and in the kernel's terms.</summary>
    public static string DescribeFault(Kernel.Kernel kernel, in Vma vma, ulong pte, AccessKind kind, ulong va)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        FaultPath path = FaultHandlingSystem.Classify(vma, pte, kind, kernel.Options.UseZeroPage);
        var p = new Pte(pte);
        switch (path)
        {
            case FaultPath.SegvAccess:
                return "SIGSEGV (access_error: the VMA does not allow it; SEGV_ACCERR)";
            case FaultPath.SegvNoExec:
                return "SIGSEGV (instruction fetch from a no-exec page)";
            case FaultPath.SegvProtNone:
                return "SIGSEGV (a PROT_NONE entry)";
            case FaultPath.Spurious:
                return "no fault: the PTE is present and allows it, the MMU translates it (a fault here would be spurious: retry)";
            case FaultPath.SharedWrite:
                return "do_wp_page → wp_page_shared: the shared page's PTE is made writable and dirty (minor fault)";
            case FaultPath.WriteProtect:
                return FaultHandlingSystem.CanReuse(kernel, (int)p.Pfn)
                    ? "do_wp_page (copy-on-write): the page is mapped only here, so wp_page_reuse makes the PTE writable (minor fault, no copy)"
                    : "do_wp_page (copy-on-write): the page is not an anonymous page mapped only here (a file page, or shared), so wp_page_copy copies it into a new frame and maps that writable (minor fault)";
            case FaultPath.ZeroPage:
                return "do_anonymous_page: a read of never-written anonymous memory maps the shared zero page read-only (minor fault, no new frame)";
            case FaultPath.AnonNew:
                return "do_anonymous_page: allocates a zeroed frame and maps it (minor fault)";
            case FaultPath.FileFault:
                {
                    long index = (long)(vma.PgOff + (((va & Pte.PageMask) - vma.Start) >> Pte.PageShift));
                    bool cached = kernel.PageCache.Find(vma.FileId, index) >= 0;
                    bool privateWrite = kind is AccessKind.Store or AccessKind.Modify && (vma.Flags & VmFlags.Shared) == 0;
                    string how = privateWrite ? "do_cow_fault" : kind is AccessKind.Store or AccessKind.Modify ? "do_shared_fault" : "do_read_fault";
                    string page = "page " + index.ToString(inv) + " of " + kernel.Files[vma.FileId].Path;
                    string tail = cached
                        ? $"{page} is in the page cache (minor fault)"
                        : $"{page} is not cached: read from disk (major fault)";
                    return $"do_fault → {how} → filemap_fault: {tail}" + (privateWrite ? ", then copied into a private frame" : "");
                }
            default:
                {
                    int slot = (int)p.ToSwapEntry().Offset;
                    return kernel.SwapCache.Lookup(slot) >= 0
                        ? $"do_swap_page: swap slot {slot.ToString(inv)} is still in the swap cache (minor fault)"
                        : $"do_swap_page: reads swap slot {slot.ToString(inv)} back into a new frame (major fault)";
                }
        }
    }

    /// <summary>No VMA covers the address: SIGSEGV, unless the VMA above grows down (a stack) and may be extended.</summary>
    private static string DescribeNoVma(MmState mm, int next, ulong va)
    {
        if (next >= 0 && (mm.Mm.Vmas[next].Flags & VmFlags.GrowsDown) != 0)
        {
            return $"no VMA, but the VMA above (at {AddressSplit.Hex(mm.Mm.Vmas[next].Start)}) grows down: expand_stack would extend it to here if RLIMIT_STACK and the guard gap allow, else SIGSEGV (SEGV_MAPERR)";
        }

        return "SIGSEGV (bad_area: no VMA covers the address; SEGV_MAPERR)";
    }

    private static string StateName(ProcessState s) => s switch
    {
        ProcessState.NotStarted => "not started yet",
        ProcessState.Runnable => "runnable",
        ProcessState.Faulting => "faulting",
        ProcessState.SleepingIo => "sleeping on I/O",
        ProcessState.Exited => "exited",
        ProcessState.WaitingChild => "waiting for a child",
        ProcessState.Paused => "paused until its parent exits",
        _ => "killed",
    };

    private static string Pfn(long pfn) => pfn < 0 ? "not charged" : "pfn 0x" + pfn.ToString("x", CultureInfo.InvariantCulture);
}
