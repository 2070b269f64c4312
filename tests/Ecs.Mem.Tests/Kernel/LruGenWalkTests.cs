using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The multi-gen LRU's aging walk (mm/vmscan.c try_to_inc_max_seq → walk_mm → walk_pmd_range → walk_pte_range) on a real
/// page table, worked by hand: one process has written 1,024 pages at a 2 MiB boundary, so two PTE tables (A: pages
/// 0–511, B: 512–1,023) of 512 PTEs each. walk_pte_range clears each young PTE of a folio on the lruvec and promotes
/// it; suitable_to_scan calls a table worth walking again when young × 8 ≥ total (one young PTE per 64-byte cache
/// line of eight PTEs), and then update_bloom_filter puts its PMD entry in the filter of seq + 1; the next walk (no
/// force_scan) enters only the tables test_bloom_filter finds in the filter of its seq. The young bits are set by the
/// test between walks, as the hardware's page walk would on each access. mm_stats: leaf PTEs seen, young ones, PTE
/// tables found, PTE tables added.
/// </summary>
public class LruGenWalkTests
{
    private const ulong Base = 0x7f0000000000; // 2 MiB aligned: pages 0-511 in one PTE table, 512-1023 in the next
    private const int Pages = 1024;

    private static void SetYoung(MmState mm, int from, int to, bool young)
    {
        for (int i = from; i < to; i++)
        {
            ulong va = Base + ((ulong)i * 4096);
            ulong pte = mm.Tables.Lookup(va);
            Assert.That(pte & Pte.PresentBit, Is.Not.Zero, $"page {i} is mapped");
            mm.Tables.Set(va, young ? pte | Pte.AccessedBit : pte & ~Pte.AccessedBit);
        }
    }

    private static int CountYoung(MmState mm, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++)
            if ((mm.Tables.Lookup(Base + ((ulong)i * 4096)) & Pte.AccessedBit) != 0)
                n++;
        return n;
    }

    [Test]
    public void TheWalkClearsYoungPtesAndTheBloomFilterKeepsOnlyTheDenseTableForTheNextWalk()
    {
        string yaml = "machine: {ram: 64M, swap: 64M, lru_gen: {enabled: y}}\n" +
            $"processes:\n  - name: w\n    workload: {{generator: \"seq:count={Pages},base=0x{Base:x},pages={Pages},writes=1\"}}\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "walk.yaml"));
        MemcgTests.Advance(m, Pages); // every page written once; the process is still alive
        MmState mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        var lv = m.Kernel.Lruvec!;
        Assert.That(CountYoung(mm, 0, Pages), Is.EqualTo(Pages), "each first write walked the page table and set the accessed bit");
        long[] Stats() => lv.MmStats.ToArray();
        long[] Delta(long[] before) => Stats().Zip(before, (a, b) => a - b).ToArray();

        // Walk 1: the mm is new to the lruvec's mm_list, so force_scan: both tables walked. 1,023 of the 1,024 young PTEs
        // are cleared: lru_add batches of 31 folios went to the lists 33 times (1,023 folios), and the last page's folio
        // is still in the CPU's batch, not on a generation (get_pfn_folio: folio_lru_gen < 0), so its PTE is skipped
        // and stays young. Both tables are dense (512 × 8 ≥ 512, 511 × 8 ≥ 512): both go into the filter of seq + 1.
        long seq = lv.MaxSeq;
        long[] s0 = Stats();
        Assert.That(lv.TryToIncMaxSeq(seq, swappiness: 60, forceScan: false), Is.True);
        Assert.That(Delta(s0), Is.EqualTo(new long[] { 1024, 1023, 2, 2 }));
        Assert.That(CountYoung(mm, 0, Pages), Is.EqualTo(1));
        Assert.That(CountYoung(mm, Pages - 1, Pages), Is.EqualTo(1), "the batched folio's PTE");
        Assert.That(lv.MaxSeq, Is.EqualTo(seq + 1));

        // Walk 2 (seq + 1, no force_scan): both tables are in its filter. A has 512 young PTEs again, B 10 of folios on
        // the lists (and the batched one): 10 × 8 = 80 < 512, so B is not carried into the filter of seq + 2; A is.
        SetYoung(mm, 0, 512, true);
        SetYoung(mm, 512, 522, true);
        long[] s1 = Stats();
        Assert.That(lv.TryToIncMaxSeq(seq + 1, swappiness: 60, forceScan: false), Is.True);
        Assert.That(Delta(s1), Is.EqualTo(new long[] { 1024, 522, 2, 1 }));
        Assert.That(CountYoung(mm, 0, Pages), Is.EqualTo(1));

        // Walk 3 (seq + 2): every PTE young again, but only A's PMD entry is in the filter: B is skipped and keeps its
        // 512 accessed bits; A's are cleared.
        SetYoung(mm, 0, Pages, true);
        long[] s2 = Stats();
        Assert.That(lv.TryToIncMaxSeq(seq + 2, swappiness: 60, forceScan: false), Is.True);
        Assert.That(Delta(s2), Is.EqualTo(new long[] { 512, 512, 1, 1 }));
        Assert.That(CountYoung(mm, 0, 512), Is.Zero);
        Assert.That(CountYoung(mm, 512, Pages), Is.EqualTo(512));

        // A forced aging (force_scan) ignores the filter: both tables again. A has no young PTE left (0: not dense); B
        // has its 511 of folios on the lists (dense, into the filter of seq + 4).
        long[] s3 = Stats();
        Assert.That(lv.TryToIncMaxSeq(seq + 3, swappiness: 60, forceScan: true), Is.True);
        Assert.That(Delta(s3), Is.EqualTo(new long[] { 1024, 511, 2, 1 }));
        Assert.That(lv.MaxSeq, Is.EqualTo(seq + 4));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// lru_gen_look_around: reclaim's folio_referenced finds page 130's PTE young (and clears it), then scans the
    /// MIN_LRU_BATCH = 64 PTEs around it in the same PMD and VMA: the VMA's part of the PMD is 512 pages, more than 64,
    /// and 130 is at least 32 from both ends, so the window is [130 − 32, 130 + 32) = pages 98–161. Young in it: pages
    /// 100–161 but 130, 61 PTEs, cleared and promoted; young = 1 + 61 = 62, 62 × 8 ≥ 64, so the PTE table goes into the
    /// filter of max_seq, and the next walk (no force_scan) enters that table alone. Pages 162–163 stay young.
    /// </summary>
    [Test]
    public void LookAroundClearsTheWindowAroundAYoungPteAndPutsADenseTableInTheFilter()
    {
        string yaml = "machine: {ram: 64M, swap: 64M, lru_gen: {enabled: y}}\n" +
            $"processes:\n  - name: w\n    workload: {{generator: \"seq:count={Pages},base=0x{Base:x},pages={Pages},writes=1\"}}\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "walk.yaml"));
        MemcgTests.Advance(m, Pages);
        MmState mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        var lv = m.Kernel.Lruvec!;
        long seq = lv.MaxSeq;
        // Walk 1 (forced for the new mm) clears every young PTE of a listed folio and puts both tables in the filter of
        // seq + 1; walk 2 finds nothing young, so the filter of seq + 2 is empty.
        Assert.That(lv.TryToIncMaxSeq(seq, swappiness: 60, forceScan: false), Is.True);
        long[] s1 = lv.MmStats.ToArray();
        Assert.That(lv.TryToIncMaxSeq(seq + 1, swappiness: 60, forceScan: false), Is.True);
        Assert.That(lv.MmStats.ToArray().Zip(s1, (a, b) => a - b), Is.EqualTo(new long[] { 1024, 0, 2, 0 }));
        Assert.That(lv.MaxSeq, Is.EqualTo(seq + 2));

        SetYoung(mm, 100, 164, true);
        int pfn = (int)((mm.Tables.Lookup(Base + (130 * 4096)) & Pte.PfnMask) >> Pte.PageShift);
        int referenced = m.Kernel.LruGen!.FolioReferenced(lv, pfn, walk: null, out VmFlags flags);
        Assert.That(referenced, Is.EqualTo(1));
        Assert.That(flags & VmFlags.Locked, Is.EqualTo(VmFlags.None));
        Assert.That(CountYoung(mm, 98, 162), Is.Zero, "the window's young PTEs were cleared");
        Assert.That(CountYoung(mm, 162, 164), Is.EqualTo(2), "pages outside the window keep theirs");

        // Walk 3 (seq + 2, no force_scan): only table A is in the filter look-around filled; its young PTEs are the two
        // outside the window (2 × 8 < 512: not carried on).
        long[] s2 = lv.MmStats.ToArray();
        Assert.That(lv.TryToIncMaxSeq(seq + 2, swappiness: 60, forceScan: false), Is.True);
        Assert.That(lv.MmStats.ToArray().Zip(s2, (a, b) => a - b), Is.EqualTo(new long[] { 512, 2, 1, 0 }));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
