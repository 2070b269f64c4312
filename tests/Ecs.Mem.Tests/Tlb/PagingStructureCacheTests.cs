using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using EcsMem.Tests.Kernel;
using EcsMem.Tests.Scenarios;
using EcsMem.Traces;
using System.Runtime.CompilerServices;
using PagingMode = EcsMem.Components.PagingMode;
using PscConfig = EcsMem.Scenarios.PscConfig;
using TlbConfig = EcsMem.Systems.Tlb.TlbConfig;
using ScenarioTlb = EcsMem.Scenarios.TlbConfig;

namespace EcsMem.Tests.Tlb;

/// <summary>
/// Paging-structure caches (Intel SDM vol. 3A §4.10.3): walk sequences worked out by hand (which cache each walk hits,
/// how many entries it reads, what it fills and evicts), the 2 MiB rule, the invalidations of §4.10.4.1, and runs
/// of whole scenarios in which no cached table is ever stale (every change Linux makes to an upper level is flushed).
/// </summary>
public class PagingStructureCacheTests
{
    private const ulong A = 0x7f00_0000_0000;       // PML4 index 254, PDPT 0, PD 0
    private const ulong TwoMiB = 1UL << 21;
    private const ulong OneGiB = 1UL << 30;

    private static ScenarioTlb Fa(int entries) => new(entries, entries);

    private static ulong Leaf(ulong pfn) => Pte.PresentBit | Pte.RwBit | Pte.UserBit | (pfn << Pte.PageShift);

    private static int Levels(PagingStructureCaches psc, PageTable t, ulong va, ushort pcid = 1)
    {
        psc.Walk(t, va, pcid, out int levels);
        return levels;
    }

    private static (long Hit, long Miss) Count(CounterRegistry c, string name) => (c.Get("psc_" + name + "_hit"), c.Get("psc_" + name + "_miss"));

    [Test]
    public void WalksReadOnlyTheLevelsBelowTheLowestCacheThatHits()
    {
        // PDE cache 2 entries, PDPTE and PML4E caches 1 entry each, fully associative. A and A+4K share a 2 MiB
        // range, B is the next 2 MiB range (same GiB), C the next GiB (same 512 GiB).
        var c = new CounterRegistry();
        var psc = new PagingStructureCaches(new PscConfig(Fa(2), Fa(1), Fa(1), null), c);
        var t = new PageTable(PagingMode.X86_64);
        ulong b = A + TwoMiB, cc = A + OneGiB;
        foreach (ulong va in new[] { A, A + 0x1000, b, cc })
            t.Set(va, Leaf(va >> 12));

        // A: every cache misses, the walk reads PML4E, PDPTE, PDE and PTE and fills the three caches.
        Assert.That(Levels(psc, t, A), Is.EqualTo(4));
        // A+4K: the PDE cache hits, only the PTE is read.
        Assert.That(Levels(psc, t, A + 0x1000), Is.EqualTo(1));
        // B: PDE miss, PDPTE hit: PDE and PTE read; the PDE cache now holds A's and B's ranges.
        Assert.That(Levels(psc, t, b), Is.EqualTo(2));
        // C: PDE and PDPTE miss, PML4E hit: 3 reads. Fills replace the PDPTE entry and the PDE cache's LRU, A's range
        // (touched at the A+4K hit, before B's fill).
        Assert.That(Levels(psc, t, cc), Is.EqualTo(3));
        // A again: its PDE entry and its GiB's PDPTE entry are gone; PML4E hits. Fills evict B's PDE entry.
        Assert.That(Levels(psc, t, A), Is.EqualTo(3));
        // B: PDE miss (evicted), PDPTE hit (A and B share the GiB, refilled by the previous walk).
        Assert.That(Levels(psc, t, b), Is.EqualTo(2));

        Assert.That(Count(c, "pde"), Is.EqualTo((1L, 5L)));
        // The walker asks a cache only when the one below it missed: 5 PDPTE lookups, 3 PML4E lookups.
        Assert.That(Count(c, "pdpte"), Is.EqualTo((2L, 3L)));
        Assert.That(Count(c, "pml4e"), Is.EqualTo((2L, 1L)));
        Assert.That(psc.At(1)!.Count, Is.EqualTo(2));
        Assert.That(psc.StaleHits, Is.Zero);
    }

    [Test]
    public void ATwoMegabyteLeafIsNeverInThePdeCacheAndEndsOnePdeRead()
    {
        var c = new CounterRegistry();
        var psc = new PagingStructureCaches(new PscConfig(Fa(4), Fa(4), Fa(2), null), c);
        var t = new PageTable(PagingMode.X86_64);
        ulong h = A + (2 * TwoMiB);
        for (ulong i = 0; i < 512; i++)
            t.Set(h + (i * 0x1000), Leaf(0x1000 + i) | Pte.PmdMappedBit);
        t.Set(A, Leaf(7));

        // Cold: PML4E, PDPTE and the PDE that maps the page (one level above the PTEs).
        Assert.That(Levels(psc, t, h), Is.EqualTo(3));
        Assert.That(psc.At(1)!.Count, Is.Zero, "no PDE-cache entry for a PDE that maps a page");
        Assert.That(psc.At(2)!.Count, Is.EqualTo(1));
        // Elsewhere in the huge page: PDE cache misses, the PDPTE cache gives the page directory: one read.
        Assert.That(Levels(psc, t, h + 0x5000), Is.EqualTo(1));
        // A 4 KiB page in the same GiB: PDPTE hit, then the PDE and the PTE.
        Assert.That(Levels(psc, t, A), Is.EqualTo(2));
        Assert.That(Count(c, "pde"), Is.EqualTo((0L, 3L)));
        Assert.That(Count(c, "pdpte"), Is.EqualTo((2L, 1L)));
        Assert.That(psc.StaleHits, Is.Zero);
    }

    [Test]
    public void AWalkThatFaultsStillUsesAndFillsTheCachesOfThePresentLevels()
    {
        var c = new CounterRegistry();
        var psc = new PagingStructureCaches(new PscConfig(Fa(4), Fa(4), Fa(2), null), c);
        var t = new PageTable(PagingMode.X86_64);
        t.Set(A, Leaf(1));
        Assert.That(Levels(psc, t, A), Is.EqualTo(4));
        // The same page table, a PTE not present: the PDE cache hits, one read finds P = 0.
        ref ulong pte = ref psc.Walk(t, A + 0x3000, 1, out int levels);
        Assert.That(levels, Is.EqualTo(1));
        Assert.That(new Pte(pte).Present, Is.False);
        // No page table for this 2 MiB range: PDPTE hit, the one PDE read finds P = 0 (null), and nothing is filled in
        // the PDE cache for it (only present entries are cached).
        pte = ref psc.Walk(t, A + (5 * TwoMiB), 1, out levels);
        Assert.That(Unsafe.IsNullRef(ref pte), Is.True);
        Assert.That(levels, Is.EqualTo(1));
        Assert.That(psc.At(1)!.Count, Is.EqualTo(1));
        // No page directory for this GiB: the PML4E cache hits, the one PDPTE read finds P = 0.
        pte = ref psc.Walk(t, A + (3 * OneGiB), 1, out levels);
        Assert.That(Unsafe.IsNullRef(ref pte), Is.True);
        Assert.That(levels, Is.EqualTo(1));
        Assert.That(psc.At(2)!.Count, Is.EqualTo(1));
        Assert.That(Count(c, "pml4e"), Is.EqualTo((1L, 1L)));
    }

    [Test]
    public void InvlpgDropsEveryEntryOfTheCurrentPcidAndACr3WriteWithoutPcidDropsAll()
    {
        var c = new CounterRegistry();
        var h = new TlbHierarchy(new World(), new TlbConfig { Psc = new PscConfig(Fa(8), Fa(4), Fa(2), null) }, c);
        PagingStructureCaches psc = h.Psc!;
        var t = new PageTable(PagingMode.X86_64);
        t.Set(A, Leaf(1));
        t.Set(A + OneGiB, Leaf(2));
        Assert.That(Levels(psc, t, A, pcid: 1), Is.EqualTo(4));
        Assert.That(Levels(psc, t, A + OneGiB, pcid: 2), Is.EqualTo(4));
        Assert.That(psc.At(1)!.Count + psc.At(2)!.Count + psc.At(3)!.Count, Is.EqualTo(6));

        // INVLPG of an address neither walk used, under PCID 1: all of PCID 1's entries go (SDM §4.10.4.1: "regardless
        // of the linear addresses to which they correspond"), PCID 2's stay.
        h.InvalidatePage(A + (100 * OneGiB), 1);
        Assert.That(psc.At(1)!.Count + psc.At(2)!.Count + psc.At(3)!.Count, Is.EqualTo(3));
        Assert.That(Levels(psc, t, A, pcid: 1), Is.EqualTo(4));
        Assert.That(Levels(psc, t, A + OneGiB + 0x1000, pcid: 2), Is.EqualTo(1));
        // Entries are used only under their own PCID: PCID 2 walking A misses the PDE and PDPTE caches (PCID 1's),
        // and hits PCID 2's PML4E entry (A and A + 1 GiB share their PML4E).
        Assert.That(Levels(psc, t, A, pcid: 2), Is.EqualTo(3));

        // A CR3 write with PCID (no NOFLUSH) for PCID 2.
        h.FlushPcid(2);
        Assert.That(Levels(psc, t, A + OneGiB, pcid: 2), Is.EqualTo(4));
        Assert.That(Levels(psc, t, A, pcid: 1), Is.EqualTo(1));
        // A CR3 write without PCID, and a global flush: nothing survives.
        h.FlushNonGlobal();
        Assert.That(psc.At(1)!.Count + psc.At(2)!.Count + psc.At(3)!.Count, Is.Zero);
        Levels(psc, t, A, pcid: 1);
        h.FlushAll();
        Assert.That(psc.At(1)!.Count + psc.At(2)!.Count + psc.At(3)!.Count, Is.Zero);
    }

    [Test]
    public void AFreedPageTableLeftInTheCacheIsCaughtAsStale()
    {
        // Without the flush Linux does after free_pgtables, the PDE cache would still point at the freed table, which
        // another range has taken since. The walker notices (counted, dropped, a miss) instead of using it.
        var c = new CounterRegistry();
        var psc = new PagingStructureCaches(new PscConfig(Fa(4), Fa(4), Fa(2), null), c);
        var t = new PageTable(PagingMode.X86_64);
        t.Set(A, Leaf(1));
        t.Set(A + TwoMiB, Leaf(2)); // keeps the page directory alive
        Assert.That(Levels(psc, t, A), Is.EqualTo(4));
        var v = new CountingVisitor();
        t.UnmapRange(A, A + TwoMiB, ref v); // A's page table is empty and freed
        t.Set(A + (4 * TwoMiB), Leaf(3));    // takes the freed table's id
        t.Set(A, Leaf(4));                   // a new table for A
        Assert.That(Levels(psc, t, A), Is.EqualTo(2), "the stale PDE entry is not used: PDPTE hit, PDE and PTE read");
        Assert.That(psc.StaleHits, Is.EqualTo(1));
        Assert.That(Count(c, "pde"), Is.EqualTo((0L, 2L)));
    }

    private struct CountingVisitor : IPteVisitor
    {
        public int N;

        public void Visit(ulong va, ulong pte) => N++;
    }

    [Test]
    public void FiveLevelPagingUsesThePml5eCacheAndThirtyTwoBitPagingOnlyThePdeCache()
    {
        var c = new CounterRegistry();
        var psc = new PagingStructureCaches(new PscConfig(Fa(4), null, null, Fa(1)), c);
        var t = new PageTable(PagingMode.X86_64_5Level);
        ulong far = A + (1UL << 39); // another PML4E, the same PML5E
        t.Set(A, Leaf(1));
        t.Set(far, Leaf(2));
        Assert.That(Levels(psc, t, A), Is.EqualTo(5));
        Assert.That(Levels(psc, t, far), Is.EqualTo(4), "PML5E hit: PML4E, PDPTE, PDE, PTE read");
        Assert.That(Levels(psc, t, far + 0x1000), Is.EqualTo(1));
        Assert.That(Count(c, "pml5e"), Is.EqualTo((1L, 1L)));

        var c32 = new CounterRegistry();
        var psc32 = new PagingStructureCaches(new PscConfig(Fa(2), Fa(4), Fa(2), Fa(1)), c32);
        var t32 = new PageTable(PagingMode.X86_32);
        t32.Set(0x0804_8000, Leaf(1));
        t32.Set(0x0804_9000, Leaf(2));
        t32.Set(0x0844_8000, Leaf(3)); // 4 MiB further: another PDE
        Assert.That(Levels(psc32, t32, 0x0804_8000), Is.EqualTo(2));
        Assert.That(Levels(psc32, t32, 0x0804_9000), Is.EqualTo(1));
        Assert.That(Levels(psc32, t32, 0x0844_8000), Is.EqualTo(2));
        Assert.That(Count(c32, "pde"), Is.EqualTo((1L, 2L)));
        Assert.That(Count(c32, "pdpte"), Is.EqualTo((0L, 0L)), "32-bit paging has no PDPTE cache lookups");
    }

    [Test]
    public void TheScenarioKeysTakeACountOrAGeometryAndRoundTrip()
    {
        Scenario s = ScenarioTestFiles.Parse("machine:\n  tlb:\n    psc: {pde: 32, pdpte: {entries: 8, ways: 2}, pml4e: 0}\n" + ScenarioTestFiles.OneProcess);
        Assert.That(s.Machine.Psc, Is.EqualTo(new PscConfig(new ScenarioTlb(32, 32), new ScenarioTlb(8, 2), null, null)));
        Scenario again = ScenarioTestFiles.Parse(ScenarioWriter.ToYaml(s));
        Assert.That(again.Machine.Psc, Is.EqualTo(s.Machine.Psc));
        Assert.That(ScenarioTestFiles.Parse("machine: {ram: 64M}\n" + ScenarioTestFiles.OneProcess).Machine.Psc, Is.Null);

        var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() =>
            ScenarioTestFiles.Parse("machine:\n  tlb:\n    psc: {pde: {entries: 12, ways: 4}}\n" + ScenarioTestFiles.OneProcess));
        Assert.That(e!.Message, Does.Contain("machine.tlb.psc.pde"));
        e = Assert.Throws<EcsMem.Diagnostics.InputException>(() =>
            ScenarioTestFiles.Parse("machine:\n  tlb:\n    psc: {pte: 4}\n" + ScenarioTestFiles.OneProcess));
        Assert.That(e!.Message, Does.Contain("pte"));
        e = Assert.Throws<EcsMem.Diagnostics.InputException>(() =>
            ScenarioTestFiles.Parse("machine:\n  tlb:\n    psc: {pde: -1}\n" + ScenarioTestFiles.OneProcess));
        Assert.That(e!.Message, Does.Contain("machine.tlb.psc.pde"));
    }

    private static Scenario WithPsc(Scenario s, int cpus, int batch) => s with
    {
        Machine = s.Machine with
        {
            Psc = new PscConfig(new ScenarioTlb(32, 4), Fa(4), Fa(2), null),
            Cpus = cpus,
            BatchSize = batch,
        },
    };

    private static void AssertCoherent(EcsMem.Systems.Machine.Machine m)
    {
        for (int cpu = 0; cpu < m.Kernel.Tlb.CpuCount; cpu++)
            Assert.That(m.Kernel.Tlb.Cpu(cpu).Tlb.Psc!.StaleHits, Is.Zero, $"CPU {cpu} used a cached table Linux had flushed");
        CounterRegistry c = m.Env.Counters;
        // The walker asks the PDPTE cache after each PDE-cache miss and the PML4E cache after each PDPTE-cache miss.
        Assert.That(c.Get("psc_pdpte_hit") + c.Get("psc_pdpte_miss"), Is.EqualTo(c.Get("psc_pde_miss")));
        Assert.That(c.Get("psc_pml4e_hit") + c.Get("psc_pml4e_miss"), Is.EqualTo(c.Get("psc_pdpte_miss")));
        Assert.That(c.Get("psc_pde_hit"), Is.Positive);
    }

    [Test]
    public void TheDefaultScenarioOnTwoCpusIsCoherentAndTheSameAtEveryBatch()
    {
        string? first = null;
        foreach (int batch in new[] { 1, 4096 })
        {
            Scenario s = WithPsc(DefaultScenario.Load(), cpus: 2, batch);
            using var m = ScenarioLoader.Build(s);
            m.Run();
            Assert.That(m.Finished, Is.True);
            AssertCoherent(m);
            // The effective configuration names the batch size; everything else must be the same.
            string text = string.Join("\n", ReportTextWriter.Write(SimulationReport.Build(m, s.SourceName)).Split('\n').Where(l => !l.TrimStart().StartsWith("batch", StringComparison.Ordinal)));
            Assert.That(text, Does.Contain("paging-structure caches"));
            first ??= text;
            Assert.That(text, Is.EqualTo(first), $"batch {batch}");
        }
    }

    private static KernelOptions WithPsc(KernelOptions o) =>
        o with { Tlb = TlbConfig.Default with { Psc = new PscConfig(new ScenarioTlb(32, 4), Fa(4), Fa(2), null) } };

    [Test]
    public void KhugepagedsCollapseFlushesThePdeCacheEntryOfTheRange()
    {
        // 4 MiB written page by page (4 KiB pages: the PDE cache points at their two page tables), MADV_HUGEPAGE, and
        // khugepaged collapses both ranges (10 MHz clock: its first wake is soon); the reads after it walk to PMD
        // leaves. A PDE-cache entry that survived the collapse would be a stale hit.
        const int huge = 512;
        var o = WithPsc(KernelKit.Options(4096, 0) with
        {
            Thp = new ThpConfig(ThpEnabled.Madvise, ThpDefrag.Madvise, true) { Khugepaged = KhugepagedConfig.Default },
            Timing = EcsMem.Systems.Timing.TimingModel.Default with { ClockGHz = 0.01 },
        });
        using var m = new EcsMem.Systems.Machine.Machine(o);
        var acc = new List<MemoryAccess>();
        for (int i = 0; i < 2 * huge; i++)
            acc.Add(KernelKit.W(KernelKit.Base + ((ulong)i * KernelKit.Page)));
        for (int round = 0; round < 2000; round++)
            acc.Add(KernelKit.R(KernelKit.Base + ((ulong)(round * 37 % (2 * huge)) * KernelKit.Page)));
        var p = KernelKit.Add(m, "p", KernelKit.Anon(KernelKit.Base, 2 * huge), 0, acc.ToArray());
        m.ScheduleAfterAccesses(2 * huge, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p)
        { Addr = KernelKit.Base, Len = 2 * huge * KernelKit.Page, Advice = (int)MadviseAdvice.HugePage });
        m.Run();
        Assert.That(m.Kernel.Khugepaged.PagesCollapsed, Is.EqualTo(2));
        AssertCoherent(m);
    }

    [Test]
    public void ThpFaultsSplitsAndUnmapsLeaveNoStaleEntry()
    {
        // THP always: 4 MiB written (two PMD mappings), half of the first unmapped (split), the rest written again,
        // everything unmapped (page tables freed) and mapped again at the same place, then written in 4 KiB strides.
        const int huge = 512;
        var o = WithPsc(KernelKit.Options(8192, 0) with { Thp = new ThpConfig(ThpEnabled.Always, ThpDefrag.Madvise, true) });
        using var m = new EcsMem.Systems.Machine.Machine(o);
        var acc = new List<MemoryAccess>();
        for (int pass = 0; pass < 3; pass++)
            for (int i = 0; i < 2 * huge; i += pass == 1 ? 3 : 1)
                acc.Add(KernelKit.W(KernelKit.Base + ((ulong)i * KernelKit.Page)));
        var p = KernelKit.Add(m, "p", KernelKit.Anon(KernelKit.Base, 2 * huge), 0, acc.ToArray());
        ulong size = huge * KernelKit.Page;
        m.ScheduleAfterAccesses(2 * huge, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = KernelKit.Base + (size / 2), Len = size / 2 });
        m.ScheduleAfterAccesses(2 * huge + 100, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p) { Addr = KernelKit.Base, Len = 2 * size });
        m.ScheduleAfterAccesses(2 * huge + 100, new AddressSpaceOp(AddressSpaceOpKind.Mmap, p)
        { Addr = KernelKit.Base, Len = 2 * size, Prot = Prot.Read | Prot.Write, Flags = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed });
        m.Run();
        Assert.That(m.Env.Counters.Get("thp_fault_alloc"), Is.GreaterThanOrEqualTo(2));
        AssertCoherent(m);
    }
}
