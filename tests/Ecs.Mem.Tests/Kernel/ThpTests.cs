using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using EcsMem.Systems.Timing;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Transparent huge pages (HugeMemory/): fault counts, AnonHugePages and split counts worked out by hand from the rules
/// of mm/huge_memory.c, in <c>always</c> mode (documented behaviour: every suitably aligned anonymous range, no
/// madvise needed) and in <c>madvise</c> mode; the madvise-mode figures the real kernel gives are in the kit
/// (oracle/programs/thp-*.phases). Every test ends with the full invariant check (a PMD mapping's 512 entries agree).
/// </summary>
public class ThpTests
{
    private const int Huge = 512;
    private const ulong HugeSize = Huge * Page;

    private static KernelOptions Thp(ThpEnabled mode, int ramPages = 4096, int swapPages = 0, bool zeroPage = true) =>
        Options(ramPages, swapPages) with { Thp = new ThpConfig(mode, ThpDefrag.Madvise, zeroPage) };

    private static MemoryAccess[] Touch(ulong start, int pages, Func<ulong, MemoryAccess> kind)
    {
        var a = new MemoryAccess[pages];
        for (int i = 0; i < pages; i++)
            a[i] = kind(start + ((ulong)i * Page));
        return a;
    }

    private static long MemInfoKb(SimMachine m, string name) =>
        MemInfo.Build(MemoryGauges.Read(m.Kernel)).Single(l => l.Name == name).Value;

    private static long RollupKb(SimMachine m, EcsMem.Ecs.Entity p, string name) =>
        SmapsRollup.Build(m.Kernel, Mm(m, p)).Fields.Single(f => f.Name == name).Value;

    private static void AssertInvariants(SimMachine m) =>
        Assert.That(InvariantChecker.Check(m), Is.Empty);

    /// <summary>Runs to the end, checking every invariant every few ticks.</summary>
    private static void RunChecked(SimMachine m, Func<bool>? until = null)
    {
        long ticks = 0;
        while (!m.Finished && (until is null || !until()))
        {
            m.Env.RunTick();
            if (++ticks % 97 == 0)
                AssertInvariants(m);
        }
        AssertInvariants(m);
    }

    [Test]
    public void AHugeFaultPaysForClearingItsFolio()
    {
        // folio_zero_user: a THP fault clears its 512 pages, so it costs latency.minor_fault + latency.clear_huge_page;
        // the store past the two blocks (its 2 MiB block is not wholly inside the VMA) is a 4 KiB fault, minor_fault
        // alone. Fault cycles = 3 × 1,000 + 2 × 540,000 = 1,083,000.
        var timing = TimingModel.Default with { MinorFaultCycles = 1_000, ClearHugePageCycles = 540_000 };
        using var m = new SimMachine(Thp(ThpEnabled.Always) with { Timing = timing });
        var p = Add(m, "p", Anon(Base, (2 * Huge) + 1), 0, Touch(Base, (2 * Huge) + 1, W));
        RunChecked(m);

        Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(2));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
        Assert.That(m.Kernel.Cycles[CycleCategory.Fault], Is.EqualTo(1_083_000));
    }

    [Test]
    public void AlwaysModeWriteFirstTakesOneFaultPerHugePage()
    {
        // 4 MiB at a 2 MiB boundary, one store per 4 KiB page: do_huge_pmd_anonymous_page at the first store of each
        // 2 MiB block maps all 512 pages, so 2 faults (not 1024), two order-9 allocations (pgalloc 1024 pages).
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, W));
        RunChecked(m, () => Stats(m, p).Accesses == 2 * Huge);

        Assert.That(Counter(m, "pgfault"), Is.EqualTo(2));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
        Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(2));
        Assert.That(Counter(m, "thp_fault_fallback"), Is.Zero);
        Assert.That(Counter(m, "pgalloc_normal"), Is.GreaterThanOrEqualTo(1024));
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(4096));
        Assert.That(MemInfoKb(m, "AnonPages"), Is.EqualTo(4096));
        Assert.That(RollupKb(m, p, "AnonHugePages"), Is.EqualTo(4096));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1024UL), "MM_ANONPAGES counts HPAGE_PMD_NR per PMD");
        // Each huge page is one 512-aligned folio, its pages mapped in order.
        int head = PfnAt(m, p, Base);
        Assert.That(head % Huge, Is.Zero);
        Assert.That(PfnAt(m, p, Base + (511 * Page)), Is.EqualTo(head + 511));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base + Page)).PmdMapped, Is.True);
        // TLB: each block misses twice (the faulting access, then its retry's walk, which fills one 2 MiB entry);
        // the other 511 stores hit that entry. The retried walk ends at the PMD: 3 of x86-64's 4 levels.
        Assert.That(Stats(m, p).TlbMisses, Is.EqualTo(4));
        m.Run();
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(4096 - 1 - 0), "everything but the zero page freed at exit");
    }

    [Test]
    public void TheCheckerCatchesAHugeMappingWhoseEntriesDisagree()
    {
        // The invariant the rest of the model relies on, broken by hand three ways: an entry of the 512 that lost its
        // PMD tag, one made writable alone, and one pointing at the wrong frame are each reported.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var p = Add(m, "p", Anon(Base, Huge), 0, W(Base), R(Base + Page));
        RunUntilAccesses(m, p, 2);
        AssertInvariants(m);
        var tables = Mm(m, p).Tables;
        ulong va = Base + (7 * Page);
        ulong good = tables.Lookup(va);
        tables.Set(va, good & ~Pte.PmdMappedBit);
        Assert.That(InvariantChecker.Check(m), Has.Some.Contains("lacks its entry 7"));
        tables.Set(va, (good & ~Pte.RwBit) | Pte.CowBit);
        Assert.That(InvariantChecker.Check(m), Has.Some.Contains("entry 7 of the PMD mapping"));
        tables.Set(va, new Pte(good).WithPfn(new Pte(good).Pfn + 1).Value);
        Assert.That(InvariantChecker.Check(m), Has.Some.Contains("entry 7 of the PMD mapping"));
        tables.Set(va, good);
        AssertInvariants(m);
    }

    [Test]
    public void MadviseModeNeedsMadvHugepage()
    {
        // madvise mode (these machines' default): the same 4 MiB takes 1024 faults until MADV_HUGEPAGE sets VM_HUGEPAGE.
        using var plain = new SimMachine(Thp(ThpEnabled.Madvise));
        var a = Add(plain, "a", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, W));
        RunChecked(plain);
        Assert.That(Stats(plain, a).MinFlt, Is.EqualTo(1024));
        Assert.That(Counter(plain, "thp_fault_alloc"), Is.Zero);

        using var advised = new SimMachine(Thp(ThpEnabled.Madvise));
        var b = Add(advised, "b", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, W));
        advised.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, b)
        { Addr = Base, Len = 2 * HugeSize, Advice = (int)MadviseAdvice.HugePage });
        RunChecked(advised, () => Stats(advised, b).Accesses == 2 * Huge);
        Assert.That(Stats(advised, b).MinFlt, Is.EqualTo(2));
        Assert.That(MemInfoKb(advised, "AnonHugePages"), Is.EqualTo(4096));
    }

    [TestCase(ThpEnabled.Never, MadviseAdvice.HugePage)]
    [TestCase(ThpEnabled.Always, MadviseAdvice.NoHugePage)]
    public void NeverModeAndNoHugepageKeepFourKilobytePages(ThpEnabled mode, MadviseAdvice advice)
    {
        using var m = new SimMachine(Thp(mode));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, Touch(Base, 2 * Huge, W));
        m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = Base, Len = 2 * HugeSize, Advice = (int)advice });
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1024));
        Assert.That(Counter(m, "thp_fault_alloc"), Is.Zero);
    }

    [Test]
    public void OnlyBlocksWhollyInsideTheVmaGetHugePages()
    {
        // 4 MiB starting 1 MiB past a 2 MiB boundary: only [Base + 2M, Base + 4M) lies wholly inside
        // (thp_vma_suitable_order), so 256 + 1 + 256 = 513 faults, as the kernel's thp-unaligned.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        ulong start = Base + (HugeSize / 2);
        var p = Add(m, "p", Anon(start, 2 * Huge), 0, Touch(start, 2 * Huge, W));
        RunChecked(m, () => Stats(m, p).Accesses == 2 * Huge);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(513));
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(2048));
    }

    [Test]
    public void ReadFirstMapsTheHugeZeroPageThenEachWriteReplacesIt()
    {
        // Reads: one fault per 2 MiB maps the huge zero folio, allocated once (thp_zero_page_alloc 1), no RSS.
        // Writes: do_huge_zero_wp_pmd replaces it with a new THP per block: 2 more faults.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var reads = Touch(Base, 2 * Huge, R);
        var writes = Touch(Base, 2 * Huge, W);
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. reads, .. writes]);
        RunChecked(m, () => Stats(m, p).Accesses == 2 * Huge);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
        Assert.That(Counter(m, "thp_zero_page_alloc"), Is.EqualTo(1));
        Assert.That(Mm(m, p).Rss, Is.Zero);
        Assert.That(RollupKb(m, p, "Rss"), Is.Zero);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.Zero);
        Assert.That(m.Kernel.Thp.IsHugeZero(PfnAt(m, p, Base + Page)), Is.True);

        RunChecked(m, () => Stats(m, p).Accesses == 4 * Huge);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(4));
        Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(2));
        Assert.That(Counter(m, "thp_split_pmd"), Is.Zero);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(4096));
    }

    [Test]
    public void WithoutAnOrder9BlockTheFaultFallsBackToFourKilobytes()
    {
        // 512 frames of RAM: the zero page takes frame 0, so no free order-9 block exists. The first store's THP
        // attempt falls back (thp_fault_fallback) to do_anonymous_page in the same fault; the page table it leaves
        // makes the PMD non-empty, so the next three stores are plain 4 KiB faults without a THP attempt.
        using var m = new SimMachine(Thp(ThpEnabled.Always, ramPages: 512));
        var p = Add(m, "p", Anon(Base, Huge), 0, Touch(Base, 4, W));
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(4));
        Assert.That(Counter(m, "thp_fault_fallback"), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_fault_alloc"), Is.Zero);
        Assert.That(m.Kernel.Zone.Buddy.AllocFailures[0], Is.Zero);
    }

    [Test]
    public void PartialMunmapSplitsThePmdAndDefersTheFolioSplit()
    {
        // As the kernel's thp-partial-munmap: munmap of [1M, 2M) splits the first PMD (thp_split_pmd 1), leaves its
        // folio half mapped (thp_deferred_split_page 1), and the second stays PMD-mapped: AnonHugePages 2048 kB.
        // Rewriting what is left takes no fault.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var rewrite = Touch(Base, 256, W).Concat(Touch(Base + HugeSize, Huge, W));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), .. rewrite]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base + (HugeSize / 2), Len = HugeSize / 2 });
        RunChecked(m, () => Stats(m, p).Accesses == 2 * Huge);
        RunChecked(m, () => Mm(m, p).Mm.Vmas.Count > 0 && Mm(m, p).Rss == 768);
        Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_deferred_split_page"), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_split_page"), Is.Zero);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(2048));
        Assert.That(new Pte(Mm(m, p).Tables.Lookup(Base)).PmdMapped, Is.False);
        RunChecked(m, () => Stats(m, p).Accesses == (3 * Huge) + 256);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
        m.Run();
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(4096 - 1), "the half-mapped folio went whole at exit");
    }

    [Test]
    public void ThePartlyMappedFolioHoldsItsUnmappedHalfUntilTheDeferredSplitShrinkerSplitsIt()
    {
        // Two THPs (both on the deferred split queue since their faults: deferred_split_folio(folio, false)); munmap of
        // [1M, 2M) leaves the first half mapped: its other 256 pages stay allocated (the folio is not split). shrink_slab
        // by hand: freeable 2; priority 2: delta (2 >> 2) × 4 / 2 = 0, total_scan 0 < freeable, nothing scanned;
        // priority 1: delta (2 >> 1) × 4 / 2 = 2 = freeable, one scan_objects of 2: the partly mapped folio is split
        // (thp_split_page 1) and its 256 unmapped pages freed, the fully mapped one just leaves the queue.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), .. Touch(Base, 256, W)]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base + (HugeSize / 2), Len = HugeSize / 2 });
        RunChecked(m, () => Stats(m, p).Accesses == 2 * Huge);
        long freeBefore = m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages;
        RunChecked(m, () => Mm(m, p).Mm.Vmas.Count > 0 && Mm(m, p).Rss == 768);
        var thp = m.Kernel.Thp;
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(freeBefore), "munmap freed nothing: the folio holds its half");
        Assert.That(thp.DeferredSplitQueueLength(null), Is.EqualTo(2));
        Assert.That(thp.ShrinkSlab(2, null), Is.Zero);
        Assert.That(thp.DeferredSplitQueueLength(null), Is.EqualTo(2));
        Assert.That(thp.ShrinkSlab(1, null), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_split_page"), Is.EqualTo(1));
        Assert.That(thp.DeferredSplitQueueLength(null), Is.Zero);
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(freeBefore + 256));
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(2048));
        AssertInvariants(m);
        m.Run();
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(4096 - 1));
    }

    [Test]
    public void TheShrinkerDefersWorkItCouldNotDoAndScansInBatches()
    {
        // do_shrink_slab's nr_deferred, 200 queued folios. Priority 7: delta = (200 >> 7) × 4 / 2 = 2, total_scan 2 is
        // below both SHRINK_BATCH and freeable, so nothing is scanned and nr_deferred becomes 0 + 2 − 0 = 2; the next
        // two calls make it 4 and 6 ((nr >> 7) adds nothing yet). Priority 0 then: total_scan = 6 + 200 × 4 / 2 = 406,
        // capped at 2 × 200 = 400; scan_objects of 128 while total_scan ≥ 128 (3 calls, 16 left, below 128 and 200),
        // each taking one folio batch (31) off the queue: 93 folios leave it; none is partly mapped, so none is split.
        // nr_deferred after: 6 + 400 − 384 = 22.
        using var m = new SimMachine(Thp(ThpEnabled.Always, ramPages: 201 * Huge));
        var thp = m.Kernel.Thp;
        var frames = m.Kernel.Zone.Frames;
        // 200 folio heads marked as THPs by hand (the queue only reads the head's flags).
        for (int i = 1; i <= 200; i++)
        {
            int head = i * Huge;
            frames[head].Flags |= FrameFlags.Thp;
            thp.DeferredSplitFolio(head, partiallyMapped: false);
        }
        Assert.That(thp.DeferredSplitQueueLength(null), Is.EqualTo(200));
        long[] deferred = [2, 4, 6];
        foreach (long d in deferred)
        {
            Assert.That(thp.ShrinkSlab(7, null), Is.Zero);
            Assert.That(thp.DeferredShrinkerNrDeferred(null), Is.EqualTo(d));
        }
        Assert.That(thp.DeferredSplitQueueLength(null), Is.EqualTo(200));
        Assert.That(thp.ShrinkSlab(0, null), Is.Zero);
        Assert.That(thp.DeferredSplitQueueLength(null), Is.EqualTo(200 - (3 * 31)));
        Assert.That(thp.DeferredShrinkerNrDeferred(null), Is.EqualTo(22));
        Assert.That(Counter(m, "thp_split_page"), Is.Zero);
    }

    [Test]
    public void ReclaimRunsTheShrinkerAndFreesTheHeldHalvesUnderPressure()
    {
        // Two THPs, each then half unmapped (MADV_DONTNEED of its upper 1 MiB): 512 pages held by the two folios. Then
        // the process touches enough 4 KiB pages to push the 4096-page machine into reclaim (linux lruvec, swap): the
        // shrinker (or reclaim meeting the folio first, which splits a partly mapped folio at once) splits both, their
        // held halves are freed, and no page is left behind (the invariant checker's leak test, and all memory back
        // at exit).
        var o = Thp(ThpEnabled.Madvise, ramPages: 4096, swapPages: 4096) with { Policy = "linux" };
        using var m = new SimMachine(o);
        const ulong Far = Base + (64 * HugeSize);
        var fill = Touch(Far, 3600, W);
        var p = Add(m, "p", mm =>
        {
            Mmap(mm, Base, 2 * Huge, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Far, 3600, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, [.. Touch(Base, 2 * Huge, W), .. fill]);
        m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p) { Addr = Base, Len = 2 * HugeSize, Advice = (int)MadviseAdvice.HugePage });
        foreach (ulong half in new[] { Base + (HugeSize / 2), Base + HugeSize + (HugeSize / 2) })
            m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p) { Addr = half, Len = HugeSize / 2, Advice = (int)MadviseAdvice.DontNeed });
        RunChecked(m, () => Stats(m, p).Accesses == (2 * Huge) + 1);
        Assert.That(Counter(m, "thp_deferred_split_page"), Is.EqualTo(2));
        Assert.That(Counter(m, "thp_split_page"), Is.Zero);
        RunChecked(m);
        Assert.That(Counter(m, "pgscan_kswapd") + Counter(m, "pgscan_direct"), Is.GreaterThan(0), "reclaim ran");
        Assert.That(Counter(m, "thp_split_page"), Is.EqualTo(2));
        Assert.That(m.Kernel.Thp.DeferredSplitQueueLength(null), Is.Zero);
        // exit does not drain the CPUs' lru_add batches (Linux 6.18): their last folios stay allocated until lru_add_drain_all.
        m.Kernel.LruAddDrainAll();
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(4096 - 1));
    }

    [Test]
    public void DontneedOfOnePageSplitsAndThatPageRefaultsAlone()
    {
        // As the kernel's thp-dontneed: MADV_DONTNEED of one 4 KiB page splits its PMD; the page refaults as a 4 KiB
        // page (the page table is there: pmd_none is false), once.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), .. Touch(Base, 2 * Huge, W)]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = Base + (16 * Page), Len = Page, Advice = (int)MadviseAdvice.DontNeed });
        RunChecked(m, () => Stats(m, p).Accesses == 4 * Huge);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
        Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(1));
        Assert.That(Counter(m, "thp_deferred_split_page"), Is.EqualTo(1));
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(2048));
        Assert.That(Mm(m, p).Rss, Is.EqualTo(1024UL));
    }

    [Test]
    public void MprotectOfPartSplitsAndOfAWholeBlockDoesNot()
    {
        // mprotect of [0, 1M) read-only splits the first PMD (the VMA boundary at 1M is inside it); mprotect of the
        // whole second block changes the PMD (change_huge_pmd) without a split.
        using var m = new SimMachine(Thp(ThpEnabled.Always));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), R(Base)]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base, Len = HugeSize / 2, Prot = Prot.Read });
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Base + HugeSize, Len = HugeSize, Prot = Prot.Read });
        RunChecked(m, () => Stats(m, p).Accesses == (2 * Huge) + 1);
        Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(1));
        var second = new Pte(Mm(m, p).Tables.Lookup(Base + HugeSize + Page));
        Assert.That(second.PmdMapped && !second.Writable, Is.True);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(2048));
    }

    [Test]
    public void AfterForkTheParentsWritesSplitAndCopyEveryPage()
    {
        // As the kernel's thp-fork-write: fork shares both THPs write-protected; the parent's first store to each
        // splits its PMD (the folio is mapped twice: no reuse) and copies one 4 KiB page in the same fault, every
        // other page then takes its own COW fault: 1024 faults, 1024 copies, 2 PMD splits. The child still maps
        // both PMDs, so AnonHugePages (counted once per folio) stays 4096 kB.
        using var m = new SimMachine(Thp(ThpEnabled.Always, ramPages: 8192));
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), .. Touch(Base, 2 * Huge, W)]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
            ChildStartDelay = 1UL << 50,
        });
        RunChecked(m, () => Stats(m, p).Accesses == 4 * Huge);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2 + 1024));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1024));
        Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(2));
        Assert.That(RollupKb(m, p, "AnonHugePages"), Is.Zero);
        Assert.That(MemInfoKb(m, "AnonHugePages"), Is.EqualTo(4096));
    }

    [Test]
    public void AnExclusiveWriteProtectedHugePageIsReusedWhole()
    {
        // After fork the child exits at once; the parent's THPs are its own again, so each first store reuses the
        // whole PMD (do_huge_pmd_wp_page reuse): 2 faults, no split, no copy.
        // A quantum of one access: the child runs (and exits) right after the fork, before the parent's next store.
        using var m = new SimMachine(Thp(ThpEnabled.Always, ramPages: 8192) with { Quantum = 1 });
        var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W), R(Base + (5 * Page)), .. Touch(Base, 2 * Huge, W)]);
        m.ScheduleAfterAccesses(2 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child"),
        });
        RunChecked(m, () => m.Kernel.Tasks.Processes.Count == 2 && Proc(m, m.Kernel.Tasks.Processes[1]).State == ProcessState.Exited);
        long before = Stats(m, p).MinFlt;
        RunChecked(m, () => Stats(m, p).Accesses == (4 * Huge) + 1);
        Assert.That(Stats(m, p).MinFlt - before, Is.EqualTo(2));
        Assert.That(Counter(m, "thp_split_pmd"), Is.Zero);
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.Zero);
        Assert.That(Counter(m, "ecsmem_cow_reuse"), Is.EqualTo(2));
    }

    [Test]
    public void ReclaimSplitsAHugePageBeforeSwappingItsPages()
    {
        // 2048 frames and two 2 MiB THPs, then 4 KiB pages beyond RAM: reclaim must take pages of the THPs, and splits
        // each folio (and its PMD) first: thp_split_page and thp_split_pmd, then swaps 4 KiB pages.
        using var m = new SimMachine(Thp(ThpEnabled.Madvise, ramPages: 2048, swapPages: 4096));
        const ulong far = Base + (64 * HugeSize);
        var p = Add(m, "p", mm =>
        {
            Mmap(mm, Base, 2 * Huge, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, far, 2048, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, [.. Touch(Base, 2 * Huge, W), .. Touch(far, 2048, W), .. Touch(Base, 2 * Huge, R)]);
        m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = Base, Len = 2 * HugeSize, Advice = (int)MadviseAdvice.HugePage });
        RunChecked(m);
        Assert.That(Counter(m, "thp_fault_alloc"), Is.EqualTo(2));
        Assert.That(Counter(m, "thp_split_page"), Is.GreaterThanOrEqualTo(1));
        Assert.That(Counter(m, "thp_split_pmd"), Is.EqualTo(Counter(m, "thp_split_page")), "each folio is PMD-mapped once");
        Assert.That(Counter(m, "pswpout"), Is.GreaterThan(0));
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited));
    }

    [TestCase(1, 1)]
    [TestCase(4096, 1)]
    [TestCase(64, 2)]
    public void ResultsDoNotDependOnTheBatchSize(int batch, int cpus)
    {
        // The same THP run (read first, writes, a fork, a partial munmap) at several batch sizes gives the same counters.
        static (long, long, long, long, long, long) RunOnce(int batch, int cpus)
        {
            using var m = new SimMachine(Thp(ThpEnabled.Always, ramPages: 4096) with { BatchSize = batch, Cpus = cpus });
            var p = Add(m, "p", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, R), .. Touch(Base, 2 * Huge, W), .. Touch(Base, Huge, W)]);
            var q = Add(m, "q", Anon(Base, 2 * Huge), 0, [.. Touch(Base, 2 * Huge, W)]);
            m.ScheduleAfterAccesses(3 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = Base + (HugeSize * 3 / 2), Len = Page * 8 });
            m.ScheduleAfterAccesses(4 * Huge, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
            {
                ChildName = "c",
                ChildWorkload = _ => Trace("c", W(Base)),
            });
            RunChecked(m);
            return (Counter(m, "pgfault"), Counter(m, "thp_fault_alloc"), Counter(m, "thp_split_pmd"),
                Counter(m, "thp_deferred_split_page"), Counter(m, "ecsmem_cow_copy"), Stats(m, q).MinFlt);
        }

        var one = RunOnce(1, 1);
        Assert.That(RunOnce(batch, cpus), Is.EqualTo(one));
        // p's munmap (after 1536 accesses: its first write to the second block) splits that block while it still maps
        // the huge zero page, so its writes copy 4 KiB zero pages: one THP for p (replacing the first huge zero
        // mapping), two for q.
        Assert.That(one.Item2, Is.EqualTo(3));
    }

    private const string Procs = "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n";

    [Test]
    public void MachineThpKeysAreParsedAndBadValuesNamed()
    {
        var s = ScenarioParser.Parse(new StringReader("machine:\n  thp: {enabled: always, defrag: defer+madvise, use_zero_page: false}\n" + Procs), "t.yaml");
        Assert.That(s.Machine.Thp, Is.EqualTo(new ThpConfig(ThpEnabled.Always, ThpDefrag.DeferMadvise, false)));
        Assert.That(ScenarioParser.Parse(new StringReader("machine:\n  ram: 16M\n" + Procs), "d.yaml").Machine.Thp, Is.EqualTo(ThpConfig.Default));
        var ex = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader("machine:\n  thp: {enabled: sometimes}\n" + Procs), "t.yaml"));
        Assert.That(ex!.Message, Does.Contain("t.yaml").And.Contain("sometimes"));
    }
}
