using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// MADV_COLD and MADV_PAGEOUT (madvise_cold_or_pageout_pte_range). Expectations worked out from the Linux 6.18 rules:
/// COLD moves only active pages to the inactive list (pgdeactivate counts them) and clears every PTE's young bit;
/// PAGEOUT writes each private anonymous page mapped once to swap at once (pswpout per page), leaves it in the swap
/// cache (the write is asynchronous) so the next access is a minor fault, passes over pages shared with a fork
/// child, and does nothing to anonymous pages without swap. The kit program madv-cold-pageout holds the whole
/// sequence against the kernel's figures.
/// </summary>
public class ColdPageoutTests
{
    private const ulong X = 0x7f0000000000;
    private const int Pages = 64;

    private static SimMachine Build(string timeline, string machine, string workload = "loop:count=1000000,base=0x7f0000000000,pages=64,writes=1")
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: " + (Pages * 4096) + ", prot: rw-, flags: private, fixed: true}\n" + timeline;
        return ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "cold.yaml"));
    }

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static EcsMem.Systems.Kernel.MmState Mm(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);

    private static string Log(SimMachine m) => string.Join("\n", m.AddressSpace.Log);

    [Test]
    public void ColdDeactivatesOnlyTheActivePagesAndClearsTheYoungBits()
    {
        // 64 pages written; 16 of them are then made active by hand (two references: folio_mark_accessed twice).
        // MADV_COLD on the range: pgdeactivate = 16 once the lru_deactivate batch moves (the 48 inactive ones are not
        // counted), no PTE young, nothing unmapped, no fault. A second deactivation finds all 64 inactive.
        using var m = Build("", "ram: 64M, swap: 0");
        m.Run(() => Stats(m).Accesses >= 64, checkEvery: 1);
        var mm = Mm(m);
        var lru = m.Kernel.Zone.Lru;
        int young = 0;
        for (int i = 0; i < Pages; i++)
        {
            ulong pte = mm.Tables.Lookup(X + ((ulong)i * 4096));
            young += (pte & Pte.AccessedBit) != 0 ? 1 : 0;
            if (i % 4 == 0)
            {
                int pfn = (int)new Pte(pte).Pfn;
                lru.OnReferenced(pfn);
                lru.OnReferenced(pfn);
            }
        }

        Assert.That(young, Is.EqualTo(Pages), "every written page's PTE is young before the advice");
        long faults = Stats(m).MinFlt;
        var changes = new List<VmaChange>();
        long r = Madvise.DoMadvise(m.Kernel, mm, X, Pages * 4096, MadviseAdvice.Cold, changes, m.Env, m.Kernel.Tasks.Processes[0], 0);
        Assert.That(r, Is.EqualTo(0));
        // folio_deactivate puts the 16 active folios in this CPU's lru_deactivate batch, which moves at 31 folios or at
        // the next lru_add_drain (measured on 6.18: "30 pages: after cold (+0 deact) active 30", CpuFolioBatchesTests).
        Assert.That(m.Env.Counters.Get("pgdeactivate"), Is.EqualTo(0));
        m.Kernel.LruAddDrainCpu(m.Kernel.Tlb.CurrentCpu);
        Assert.That(m.Env.Counters.Get("pgdeactivate"), Is.EqualTo(16));
        Assert.That(mm.Mm.Struct.RssAnon, Is.EqualTo((ulong)Pages));
        Assert.That(faults, Is.EqualTo(Pages));
        int stillActive = 0;
        for (int i = 0; i < Pages; i++)
        {
            ulong pte = mm.Tables.Lookup(X + ((ulong)i * 4096));
            Assert.That(pte & Pte.AccessedBit, Is.EqualTo(0UL), $"page {i}");
            stillActive += lru.OnDeactivate((int)new Pte(pte).Pfn) ? 1 : 0;
        }

        Assert.That(stillActive, Is.EqualTo(0));
    }

    [Test]
    public void PageoutWritesEveryPageToSwapAndKeepsItInTheSwapCache()
    {
        // 64 written pages, MADV_PAGEOUT: 64 swap-outs, RSS 0, 64 swap entries, 64 pages in the swap cache and
        // not one frame freed. The next pass over the range: 64 minor faults (swap-cache hits), no major fault.
        using var m = Build(Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: pageout}"), "ram: 64M, swap: 64M");
        m.Run(() => Stats(m).Accesses >= 64, checkEvery: 1);
        long freeBefore = m.Kernel.Zone.Buddy.NrFreePages;
        var mm = Mm(m);
        // Stop right after the call; the pages the loop touched again since then are mapped again.
        m.Run(() => m.AddressSpace.Log.Count >= 2, checkEvery: 1);
        Assert.That(Log(m), Does.Contain(Strace.Line("madvise(0x7f0000000000, 262144, MADV_PAGEOUT)", "0")));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(Pages));
        Assert.That(m.Env.Counters.Get("pgpgout"), Is.EqualTo(Pages * 4));
        long back = Stats(m).MinFlt - Pages;
        Assert.That(back, Is.InRange(0, Pages - 1));
        Assert.That(mm.Mm.Struct.SwapEnts, Is.EqualTo((ulong)(Pages - back)));
        Assert.That(mm.Mm.Struct.RssAnon, Is.EqualTo((ulong)back));
        m.Run(() => Stats(m).Accesses >= 200, checkEvery: 1);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(2 * Pages));
        Assert.That(Stats(m).MajFlt, Is.EqualTo(0));
        Assert.That(m.Env.Counters.Get("pswpin"), Is.EqualTo(0), "nothing is read back: the pages never left memory");
        Assert.That(mm.Mm.Struct.RssAnon, Is.EqualTo((ulong)Pages));
        Assert.That(m.Kernel.Zone.Buddy.NrFreePages, Is.LessThanOrEqualTo(freeBefore));
    }

    [Test]
    public void PageoutWithoutSwapKeepsAnonymousPages()
    {
        // add_to_swap fails: every page stays mapped, no write, no fault afterwards.
        using var m = Build(Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: pageout}"), "ram: 64M, swap: 0");
        m.Run(() => Stats(m).Accesses >= 200, checkEvery: 1);
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(0));
        Assert.That(Mm(m).Mm.Struct.RssAnon, Is.EqualTo((ulong)Pages));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(Pages));
    }

    [Test]
    public void PageoutPassesOverPagesSharedWithAForkChild()
    {
        // After fork every page is mapped twice (mapcount 2): the parent's MADV_PAGEOUT leaves them all.
        string t = Event("64", "fork: {child: c}") + Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: pageout}");
        using var m = Build(t, "ram: 64M, swap: 64M", "loop:count=1000000,base=0x7f0000000000,pages=64");
        m.Run(() => Stats(m).Accesses >= 200, checkEvery: 1);
        Assert.That(Log(m), Does.Contain("MADV_PAGEOUT) = 0"));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(0));
        Assert.That(Mm(m).Mm.Struct.SwapEnts, Is.EqualTo(0UL));
    }

    [Test]
    public void ColdAndPageoutRefuseALockedArea()
    {
        // can_madv_lru_vma: a VM_LOCKED area is EINVAL for both.
        string t = Event("64", "mlock: {addr: 0x7f0000000000, length: 256K}")
            + Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: cold}")
            + Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: pageout}");
        using var m = Build(t, "ram: 64M, swap: 64M");
        m.Run(() => Stats(m).Accesses >= 100, checkEvery: 1);
        Assert.That(Log(m), Does.Contain(Strace.Line("madvise(0x7f0000000000, 262144, MADV_COLD)", "-1 EINVAL (Invalid argument)")));
        Assert.That(Log(m), Does.Contain(Strace.Line("madvise(0x7f0000000000, 262144, MADV_PAGEOUT)", "-1 EINVAL (Invalid argument)")));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(0));
    }
}
