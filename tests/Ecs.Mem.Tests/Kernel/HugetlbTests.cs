using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// hugetlbfs (Hugetlb/): the pool, reservations, faults and frees, with the figures worked out by hand from the rules of
/// mm/hugetlb.c (hugetlb_reserve_pages, gather_surplus_pages, alloc_hugetlb_folio, free_huge_folio); what the real
/// kernel gives for the common cases is in the kit (oracle/programs/hugetlb-*.phases). Every test ends with the full
/// invariant check.
/// </summary>
public class HugetlbTests
{
    private const int Huge = 512;
    private const ulong HugeSize = Huge * Page;

    private static KernelOptions Pool(long nr, long overcommit = 0, int ramPages = 8192) =>
        Options(ramPages, 0) with { Hugetlb = new HugetlbConfig(nr, overcommit) };

    private static MemoryAccess[] Touch(ulong start, int pages, Func<ulong, MemoryAccess> kind)
    {
        var a = new MemoryAccess[pages];
        for (int i = 0; i < pages; i++)
            a[i] = kind(start + ((ulong)i * Page));
        return a;
    }

    private static Action<MmState> Hugetlb(ulong addr, int hugePages, bool shared = false, bool noReserve = false) => mm =>
        Mmap(mm, addr, (ulong)hugePages * Huge, Prot.Read | Prot.Write,
            (shared ? MapFlags.Shared : MapFlags.Private) | MapFlags.Anonymous | MapFlags.HugeTlb | (noReserve ? MapFlags.NoReserve : MapFlags.None));

    private static long Info(SimMachine m, string name) =>
        MemInfo.Build(MemoryGauges.Read(m.Kernel)).Single(l => l.Name == name).Value;

    private static (long Total, long Free, long Rsvd, long Surp) Counts(SimMachine m) =>
        (Info(m, "HugePages_Total"), Info(m, "HugePages_Free"), Info(m, "HugePages_Rsvd"), Info(m, "HugePages_Surp"));

    private static void AssertInvariants(SimMachine m) => Assert.That(InvariantChecker.Check(m), Is.Empty);

    [Test]
    public void ThePoolComesFromTheBuddyAllocatorAtBootAndCanFallShort()
    {
        // 8192 frames (32 MiB): 4 huge pages take 2048 frames from the buddy allocator at boot.
        using var m = new SimMachine(Pool(4));
        long free = m.Kernel.Zone.Buddy.NrFreePages;
        Assert.That(Counts(m), Is.EqualTo((4L, 4L, 0L, 0L)));
        Assert.That(Info(m, "Hugepagesize"), Is.EqualTo(2048));
        Assert.That(Info(m, "Hugetlb"), Is.EqualTo(8192));
        Assert.That(Counter(m, "htlb_buddy_alloc_success"), Is.EqualTo(4));
        using var none = new SimMachine(Pool(0));
        Assert.That(none.Kernel.Zone.Buddy.NrFreePages - free, Is.EqualTo(4 * Huge));

        // 4096 frames (16 MiB) cannot give 100 huge pages: the pool stops at the first failed order-9 allocation, with
        // the min watermark left free (set_max_huge_pages), so it holds fewer than asked and says so in htlb_buddy_alloc_fail.
        using var small = new SimMachine(Pool(100, ramPages: 4096));
        long got = Info(small, "HugePages_Total");
        Assert.That(got, Is.InRange(1, 7));
        Assert.That(Counter(small, "htlb_buddy_alloc_fail"), Is.EqualTo(1));
        Assert.That(small.Kernel.Zone.Buddy.HasFreeBlock(9) && !small.Kernel.Zone.Watermarks.BelowMin(small.Kernel.Zone.Buddy.NrFreePages, 9), Is.False);
        AssertInvariants(small);
    }

    [Test]
    public void MeminfoPrintsTheHugePagesLinesAsLinuxDoes()
    {
        using var m = new SimMachine(Pool(3));
        var sb = new System.Text.StringBuilder();
        MemInfo.AppendTo(sb, MemInfo.Build(MemoryGauges.Read(m.Kernel)).Where(l => l.Name.StartsWith("Huge", StringComparison.Ordinal)).ToList());
        // hugetlb_report_meminfo's formats: "HugePages_Total:   %5lu", "Hugepagesize:   %8lu kB", then "Hugetlb:        %8lu kB".
        Assert.That(sb.ToString(), Is.EqualTo(
            "HugePages_Total:       3\nHugePages_Free:        3\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n" +
            "Hugepagesize:       2048 kB\nHugetlb:            6144 kB\n"));
    }

    [Test]
    public void APrivateMappingReservesAtMmapAndFaultsOncePerHugePage()
    {
        using var m = new SimMachine(Pool(4));
        var p = Add(m, "p", Hugetlb(Base, 3), 0, [.. Touch(Base, 3 * Huge, W), R(Base + Page)]);
        Assert.That(Counts(m), Is.EqualTo((4L, 4L, 3L, 0L)), "hugetlb_reserve_pages: one reservation per huge page");
        RunUntilAccesses(m, p, 3 * Huge + 1);
        AssertInvariants(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
        Assert.That(Counts(m), Is.EqualTo((4L, 1L, 0L, 0L)), "each fault takes its reservation's page");
        // No RSS (hugetlb pages are not MM_ANONPAGES), no LRU, not charged anywhere; smaps counts them as Private_Hugetlb.
        Assert.That(Mm(m, p).Rss, Is.Zero);
        Assert.That(Info(m, "AnonPages"), Is.Zero);
        Assert.That(SmapsRollup.Build(m.Kernel, Mm(m, p)).Fields.Single(f => f.Name == "Private_Hugetlb").Value, Is.EqualTo(6144));
        Assert.That(Mm(m, p).HugetlbPages, Is.EqualTo(3 * Huge));
        var pte = new Pte(Mm(m, p).Tables.Lookup(Base + (2 * HugeSize) + (17 * Page)));
        Assert.That(pte.PmdMapped && pte.Writable && pte.Dirty, Is.True);
        m.Run();
        Assert.That(Counts(m), Is.EqualTo((4L, 4L, 0L, 0L)), "exit frees the pages back to the pool");
        AssertInvariants(m);
    }

    [Test]
    public void MmapFailsWithEnomemWhenThePoolCannotCoverTheReservation()
    {
        using var m = new SimMachine(Pool(2));
        var p = Add(m, "p", Hugetlb(Base, 2), 0, W(Base));
        MmState mm = Mm(m, p);
        // Both pages are reserved: a third reservation fails and nothing is mapped (ENOMEM)...
        Assert.That(mm.Mm.DoMmap(Base + (8 * HugeSize), HugeSize, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.Fixed, -1, 0),
            Is.EqualTo(-Errno.ENOMEM));
        // ... shared ones reserve as well ...
        Assert.That(mm.Mm.DoMmap(Base + (8 * HugeSize), HugeSize, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.Fixed, -1, 0),
            Is.EqualTo(-Errno.ENOMEM));
        // ... but MAP_NORESERVE reserves nothing, even under overcommit_memory 2.
        Assert.That(mm.Mm.DoMmap(Base + (8 * HugeSize), HugeSize, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.NoReserve | MapFlags.Fixed, -1, 0),
            Is.EqualTo((long)(Base + (8 * HugeSize))));
        Assert.That(Counts(m), Is.EqualTo((2L, 2L, 2L, 0L)));
        // A fixed hugetlb address must be 2 MiB aligned; a length is rounded up to 2 MiB.
        Assert.That(mm.Mm.DoMmap(Base + (16 * HugeSize) + Page, HugeSize, Prot.Read, MapFlags.Private | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.NoReserve | MapFlags.Fixed, -1, 0),
            Is.EqualTo(-Errno.EINVAL));
        Assert.That(mm.Mm.DoMmap(Base + (16 * HugeSize), Page, Prot.Read, MapFlags.Private | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.NoReserve | MapFlags.Fixed, -1, 0),
            Is.EqualTo((long)(Base + (16 * HugeSize))));
        Assert.That(mm.Mm.Vmas[mm.Mm.Vmas.VmaLookup(Base + (16 * HugeSize))].Length, Is.EqualTo(HugeSize));
        // munmap may not split a hugetlb VMA inside a huge page (hugetlb_vm_op_split): EINVAL.
        Assert.That(mm.Mm.DoMunmap(Base + Page, Page), Is.EqualTo(-Errno.EINVAL));
        Assert.That(mm.Mm.DoMprotect(Base, HugeSize + Page, Prot.Read), Is.EqualTo(-Errno.EINVAL), "nor mprotect");
        Assert.That(mm.Mm.DoMprotect(Base, HugeSize, Prot.Read), Is.Zero, "a whole huge page is fine");
        AssertInvariants(m);
    }

    [Test]
    public void MremapNeverGrowsAHugetlbMappingAndWantsAlignedAddresses()
    {
        // Kernel (6.18.44, nr_hugepages 4, a 4 MiB MAP_HUGETLB private mapping; 2026-12-05): mremap(p, 2M, 4M, 0)
        // and with MREMAP_MAYMOVE -> EINVAL; mremap(p+4K, 4K, 4K, MAYMOVE|FIXED, p+16M) -> EINVAL (unaligned);
        // mremap(p, 4M, 2M, 0) -> ok (shrink); mremap(p, 4K, 8K, 0) -> ok (both lengths round up to 2 MiB).
        using var m = new SimMachine(Pool(4));
        var p = Add(m, "p", Hugetlb(Base, 2), 0, W(Base));
        MmState mm = Mm(m, p);
        Assert.That(mm.Mm.DoMremap(Base, HugeSize, 2 * HugeSize, 0, 0, null, out _, out _), Is.EqualTo(-Errno.EINVAL), "grow in place");
        Assert.That(mm.Mm.DoMremap(Base, HugeSize, 2 * HugeSize, MremapFlags.MayMove, 0, null, out _, out _), Is.EqualTo(-Errno.EINVAL), "grow, may move");
        Assert.That(mm.Mm.DoMremap(Base + Page, Page, Page, MremapFlags.MayMove | MremapFlags.Fixed, Base + (8 * HugeSize), null, out _, out _), Is.EqualTo(-Errno.EINVAL), "unaligned");
        Assert.That(mm.Mm.DoMremap(Base, Page, 2 * Page, 0, 0, null, out _, out _), Is.EqualTo((long)Base), "4 KiB lengths round to one huge page");
        Assert.That(mm.Mm.DoMremap(Base, 2 * HugeSize, HugeSize, 0, 0, null, out _, out _), Is.EqualTo((long)Base), "shrink");
        Assert.That(mm.Mm.Vmas[mm.Mm.Vmas.VmaLookup(Base)].Length, Is.EqualTo(HugeSize));
        AssertInvariants(m);
    }

    [Test]
    public void ANoreserveMappingGetsSigbusWhenThePoolRunsDry()
    {
        // Pool of 1, a 2-huge-page MAP_NORESERVE mapping: the first fault takes the free page, the second finds none
        // (free - reserved = 0, no overcommit) and the task dies of SIGBUS (VM_FAULT_SIGBUS).
        using var m = new SimMachine(Pool(1));
        var p = Add(m, "p", Hugetlb(Base, 2, noReserve: true), 0, W(Base), W(Base + HugeSize), W(Base + Page));
        Assert.That(Counts(m), Is.EqualTo((1L, 1L, 0L, 0L)));
        m.Run();
        Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Killed));
        Assert.That(Proc(m, p).ExitSignal, Is.EqualTo(7));
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1));
        Assert.That(Counts(m), Is.EqualTo((1L, 1L, 0L, 0L)));
        AssertInvariants(m);
    }

    [Test]
    public void SurplusPagesCoverReservationsUpToTheOvercommitLimit()
    {
        // Pool of 1 with nr_overcommit_hugepages 2: a 3-page reservation needs 2 more free pages, which
        // gather_surplus_pages allocates from the buddy allocator as surplus; a 4th would exceed the limit (ENOMEM).
        using var m = new SimMachine(Pool(1, overcommit: 2));
        var p = Add(m, "p", Hugetlb(Base, 3), 0, [.. Touch(Base, 2 * Huge, W)]);
        Assert.That(Counts(m), Is.EqualTo((3L, 3L, 3L, 2L)));
        Assert.That(Mm(m, p).Mm.DoMmap(Base + (8 * HugeSize), HugeSize, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.Fixed, -1, 0),
            Is.EqualTo(-Errno.ENOMEM));
        RunUntilAccesses(m, p, 2 * Huge);
        Assert.That(Counts(m), Is.EqualTo((3L, 1L, 1L, 2L)));
        // Unmapping the untouched third gives its reservation back, and with it a surplus page goes back to the buddy
        // allocator (return_unused_surplus_pages); unmapping a used page frees it to the buddy allocator too while the
        // pool holds surplus pages (free_huge_folio).
        Assert.That(Mm(m, p).Mm.DoMunmap(Base + (2 * HugeSize), HugeSize, new List<VmaChange>()), Is.Zero);
        Assert.That(Counts(m), Is.EqualTo((2L, 0L, 0L, 1L)));
        m.Run();
        Assert.That(Counts(m), Is.EqualTo((1L, 1L, 0L, 0L)));
        AssertInvariants(m);
    }

    [Test]
    public void APrivateHugePageSharedByForkIsCopiedOnWriteFromThePool()
    {
        // The parent writes one huge page, forks (both map it read-only), and writes it again: hugetlb_wp copies it
        // into a new pool page (one fault, one copy); a later write of its own page finds it exclusive again.
        using var m = new SimMachine(Pool(3));
        var p = Add(m, "p", Hugetlb(Base, 1), 0, W(Base), W(Base + Page), W(Base + (2 * Page)));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
            ChildStartDelay = 1UL << 50,
        });
        RunUntilAccesses(m, p, 3);
        AssertInvariants(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(2));
        Assert.That(Counter(m, "ecsmem_cow_copy"), Is.EqualTo(1));
        Assert.That(Counts(m), Is.EqualTo((3L, 1L, 0L, 0L)), "the original (still the child's) and the copy are in use");
        var child = m.Kernel.Tasks.Processes[1];
        Assert.That(PfnAt(m, child, Base), Is.Not.EqualTo(PfnAt(m, p, Base)));
        Assert.That(SmapsRollup.Build(m.Kernel, Mm(m, child)).Fields.Single(f => f.Name == "Private_Hugetlb").Value, Is.EqualTo(2048));
    }

    [Test]
    public void ASharedMappingKeepsItsPagesAcrossForkAndCountsThemShared()
    {
        using var m = new SimMachine(Pool(2));
        var p = Add(m, "p", Hugetlb(Base, 1, shared: true), 0, R(Base), W(Base + Page));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, p)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
            ChildStartDelay = 1UL << 50,
        });
        RunUntilAccesses(m, p, 2);
        AssertInvariants(m);
        // The read fault mapped it writable at once (shared writable mapping): the store after fork does not fault.
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(1));
        var child = m.Kernel.Tasks.Processes[1];
        Assert.That(PfnAt(m, child, Base), Is.EqualTo(PfnAt(m, p, Base)));
        Assert.That(SmapsRollup.Build(m.Kernel, Mm(m, p)).Fields.Single(f => f.Name == "Shared_Hugetlb").Value, Is.EqualTo(2048));
        Assert.That(Counts(m), Is.EqualTo((2L, 1L, 0L, 0L)));
    }

    [Test]
    public void TheAccessPathCountsAHitInTheL1LargePageArrayAsAnL1Hit()
    {
        // The access loop serves 4 KiB L1 hits itself; a 2 MiB page misses the 4 KiB array and must be found in the
        // dTLB's 2M array (before the STLB) and counted as a dTLB hit. Two huge pages: a write faults each in (the
        // retried access walks to the PMD leaf and fills the STLB and the 2M array), then 9 loads inside the first,
        // 5 inside the second and 3 back in the first all hit the 2M array: 17 L1 hits, no STLB hit.
        using var m = new SimMachine(Pool(2));
        var trace = new List<MemoryAccess> { W(Base) };
        for (ulong k = 1; k <= 9; k++)
            trace.Add(R(Base + (k * Page)));
        trace.Add(W(Base + HugeSize));
        for (ulong k = 1; k <= 5; k++)
            trace.Add(R(Base + HugeSize + (k * 3 * Page)));
        for (ulong k = 1; k <= 3; k++)
            trace.Add(R(Base + (k * 100 * Page)));
        var p = Add(m, "p", Hugetlb(Base, 2), 0, [.. trace]);
        RunUntilAccesses(m, p, trace.Count);
        AssertInvariants(m);
        ProcessStats st = Stats(m, p);
        Assert.That(st.MinFlt, Is.EqualTo(2));
        Assert.That(Counter(m, "dtlb_2m_hit"), Is.EqualTo(17));
        Assert.That(Counter(m, "dtlb_2m_miss"), Is.EqualTo(2), "the two walks that ended on a 2 MiB leaf");
        Assert.That(Counter(m, "stlb_2m_miss"), Is.EqualTo(2));
        Assert.That(Counter(m, "stlb_2m_hit"), Is.Zero);
        Assert.That(Counter(m, "dtlb_hit"), Is.Zero, "no 4 KiB page was touched");
        Assert.That(st.DtlbHits, Is.EqualTo(17), "an L1 hit whatever the array");
        Assert.That(st.StlbHits, Is.Zero);
        Assert.That(st.Accesses, Is.EqualTo(trace.Count));
    }
}
