using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Filemap;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Vmscan;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Large page-cache folios from readahead (mm/readahead.c page_cache_ra_order and page_cache_async_ra of Linux 6.18)
/// and what a folio is to the LRU, reclaim and the page cache. The expected orders are worked by hand from the
/// rules: mmap read-around reads single pages (ra-&gt;order = 0); each async window asks for ra-&gt;order + 2, capped
/// by ilog2 of the window and MAX_PAGECACHE_ORDER (9), and the folio holding the window's mark carries PG_readahead.
/// </summary>
public class PageCacheFolioTests
{
    private const string Base = "0x7f0000000000";

    private static string Scenario(int filePages, int reads, string machine = "ram: 64M, swap: 0, read_ahead_kb: 128", string cgroup = "")
    {
        var w = new System.Text.StringBuilder();
        w.Append("machine: {").Append(machine).Append("}\n");
        if (cgroup.Length > 0)
            w.Append("cgroups:\n  - {name: box, memory.max: ").Append(cgroup).Append("}\n");
        w.Append("processes:\n  - name: reader\n");
        if (cgroup.Length > 0)
            w.Append("    cgroup: box\n");
        w.Append("    layout: {exec: {}}\n    workload:\n");
        w.Append("      generator: \"loop:count=").Append(reads).Append(",base=").Append(Base).Append(",pages=").Append(filePages).Append("\"\n");
        w.Append("timeline:\n  - at: 0\n    process: reader\n");
        w.Append("    mmap: {addr: ").Append(Base).Append(", length: ").Append(filePages * 4096L).Append(", prot: r--, flags: private, file: /data/f, fixed: true}\n");
        return w.ToString();
    }

    private static SimMachine Run(string yaml)
    {
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "folio.yaml"));
        m.Run();
        return m;
    }

    /// <summary>The folio order of every cached page of the data file, by index (-1: not cached).</summary>
    private static int[] Orders(SimMachine m, int filePages)
    {
        var k = m.Kernel;
        int file = k.PageCache.Entries().First(e => !k.Zone.Frames[e.Pfn].IsShmem && e.Index == 0 && k.Zone.Frames[e.Pfn].Mapping == e.File).File;
        var orders = new int[filePages];
        for (int i = 0; i < filePages; i++)
        {
            int pfn = k.PageCache.Find(file, i);
            orders[i] = pfn < 0 ? -1 : k.Zone.Frames[pfn].FolioOrder;
        }
        return orders;
    }

    [Test]
    public void EachAsyncWindowAsksForFoliosTwoOrdersLarger()
    {
        // read_ahead_kb 128: ra_pages 32. The fault at 0 reads around it: [0, 32) as single pages, the mark at 24.
        // The mark's hit: window [32, 64), order 0 + 2 = 2 (ilog2(32) = 5 allows it): eight order-2 folios, the first
        // marked. Its hit: [64, 96) at order 4: two folios. Then order 6, capped at ilog2(32) = 5: one folio a window
        // for [96, 128), [128, 160), ..., [224, 256); ra->order stays 5 (5 + 2 capped again).
        using var m = Run(Scenario(256, 256));
        int[] orders = Orders(m, 256);
        var want = new int[256];
        for (int i = 0; i < 256; i++)
            want[i] = i < 32 ? 0 : i < 64 ? 2 : i < 96 ? 4 : 5;
        Assert.That(orders, Is.EqualTo(want));
        Frame[] frames = m.Kernel.Zone.Frames;
        int file = m.Kernel.Zone.Frames[m.Kernel.PageCache.Entries().First(e => e.Index == 40).Pfn].Mapping;
        for (int i = 32; i < 256; i++)
        {
            int pfn = m.Kernel.PageCache.Find(file, i);
            int nr = 1 << want[i];
            int headPfn = m.Kernel.PageCache.Find(file, i & ~(nr - 1));
            Assert.That(pfn, Is.EqualTo(headPfn + (i & (nr - 1))), $"page {i}: the folio's pages are one naturally aligned block");
            Assert.That(headPfn & (nr - 1), Is.Zero, $"page {i}: the block is aligned to its size");
        }
        // One LRU entry a folio: 32 single pages + 8 + 2 + 5 folios; the lists count pages.
        var lv = m.Kernel.Lruvec!;
        lv.LruAddDrainAll();
        int entries = lv.Frames(LruList.InactiveFile).Count() + lv.Frames(LruList.ActiveFile).Count();
        long pages = lv.Size(LruList.InactiveFile) + lv.Size(LruList.ActiveFile);
        int filePagesCached = m.Kernel.PageCache.Entries().Count(e => !frames[e.Pfn].IsAnon);
        Assert.That(pages, Is.EqualTo(filePagesCached), "list sizes count every page of a folio");
        Assert.That(entries, Is.EqualTo(filePagesCached - 256 + 32 + 8 + 2 + 5), "only the data file's folios are fewer entries than pages");
        Assert.That(m.Env.Counters.Get("ecsmem_readahead_pages"), Is.EqualTo(255), "every page but the faulting one was read ahead");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void WithoutLargeFolioSupportEveryPageIsSingle()
    {
        // machine.large_folios: false, a filesystem without them: page_cache_ra_order sets ra->order to 0 and reads
        // the window with do_page_cache_ra. The same pages are read, the same faults taken.
        using var on = Run(Scenario(256, 256));
        using var off = Run(Scenario(256, 256, "ram: 64M, swap: 0, read_ahead_kb: 128, large_folios: false"));
        Assert.That(Orders(off, 256), Is.All.EqualTo(0));
        Assert.That(off.Env.Counters.Get("ecsmem_readahead_pages"), Is.EqualTo(on.Env.Counters.Get("ecsmem_readahead_pages")));
        Assert.That(off.Env.Counters.Get("pgmajfault"), Is.EqualTo(on.Env.Counters.Get("pgmajfault")));
        Assert.That(InvariantChecker.Check(off), Is.Empty);
    }

    [Test]
    public void ReclaimTakesFoliosWholeAndCountsTheirPages()
    {
        // A 4 MiB file read twice in a group limited to 1 MiB: reclaim evicts the file as it is read. Every file page
        // read in is either still cached or was stolen (no truncation or invalidation here), so pgsteal_file equals
        // the pages read (pgpgin / 4 kB, no swap) minus those cached at the end; a large folio in the cache is whole
        // (all its pages cached, consecutive frames), never a part left behind.
        using var m = Run(Scenario(1024, 2048, "ram: 64M, swap: 0, read_ahead_kb: 128", "1M"));
        var k = m.Kernel;
        long readPages = m.Env.Counters.Get("pgpgin") / 4;
        long cached = k.PageCache.Entries().Count(e => !k.Zone.Frames[e.Pfn].IsAnon);
        Assert.That(m.Env.Counters.Get("pgsteal_file"), Is.EqualTo(readPages - cached));
        Assert.That(m.Env.Counters.Get("pgsteal_file"), Is.GreaterThan(1024), "the second pass read the file again");
        // Reclaim left shadows: a refault found one, or the shadow-node shrinker freed their leaves first (this short
        // run never flushes the group's statistics, so count_shadow_nodes allows no shadow-only leaf at all).
        Assert.That(m.Env.Counters.Get("workingset_refault_file") + m.Env.Counters.Get("workingset_nodereclaim"), Is.GreaterThan(0));
        Frame[] frames = k.Zone.Frames;
        int large = 0;
        foreach (var (file, index, pfn) in k.PageCache.Entries())
        {
            int order = frames[pfn].FolioOrder;
            if (order == 0 || (pfn & ((1 << order) - 1)) != 0)
                continue;
            large++;
            for (int i = 1; i < 1 << order; i++)
                Assert.That(k.PageCache.Find(file, index + i), Is.EqualTo(pfn + i), $"folio at {index}: page {index + i}");
        }
        Assert.That(large, Is.GreaterThan(0), "the second pass's async windows built large folios too");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AnAsyncWindowAtTheGroupLimitKeepsItsOrderAfterEachReclaimRound()
    {
        // One sequential pass over a 4 MiB file in a group limited to 1 MiB: from the fourth window on every folio's
        // charge finds the group at memory.max. try_charge_memcg reclaims a round for it and charges it then, so the
        // windows keep the orders of an unlimited read (as the kernel's swappiness-60 `file1` async window [2048, 4096)
        // was added whole at order 2 through 37-38 reclaim rounds, oracle/experiments/ra-memcg-trace). The windows
        // start in the fault (do_async_mmap_readahead), before the tick's reclaim stage: a retry before that reclaim
        // found the group still full and fell back to single pages. The pass reads ahead of itself, never behind, so
        // no page is read twice and every cached page is its window's.
        using var m = Run(Scenario(1024, 1024, "ram: 64M, swap: 0, read_ahead_kb: 128", "1M"));
        var k = m.Kernel;
        // The data file: the one cached at its last page (the executable's image is a few pages).
        int file = k.PageCache.Entries().First(e => e.Index == 1023).File;
        int checkedPages = 0;
        for (int i = 0; i < 1024; i++)
        {
            int pfn = k.PageCache.Find(file, i);
            if (pfn < 0)
                continue;
            int order = k.Zone.Frames[pfn].FolioOrder;
            int want = i < 32 ? 0 : i < 64 ? 2 : i < 96 ? 4 : 5;
            Assert.That(order, Is.EqualTo(want), $"page {i}");
            checkedPages++;
        }
        Assert.That(checkedPages, Is.GreaterThan(128), "the pages read last are still cached");
        Assert.That(m.Env.Counters.Get("pgpgin") / 4, Is.EqualTo(1024), "every page read once");
        Assert.That(m.Env.Counters.Get("pgsteal_file"), Is.GreaterThan(1024 - 256), "the group reclaimed as the file was read");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void FaultAroundMapsTheMarkedPagesNeighboursBeforeItsWindowReclaims()
    {
        // do_read_fault runs do_fault_around before __do_fault: at a PG_readahead page the block's other cached pages
        // are mapped first, then filemap_fault's async window charges its folios, reclaiming the group as it goes. A
        // window of 128 pages (read_ahead_kb 512) in a 2 MiB group: those reclaim rounds come while the marked block's
        // neighbours are still unmapped, and took one of them when fault-around ran only after the window (65 faults).
        // Mapped first, no 16-page block (fault_around_bytes 64 KiB) of the 1,024-page pass takes more than one fault:
        // at most 64 (since session 13 fewer, a large folio being mapped whole by one fault: filemap_map_folio_range).
        using var m = Run(Scenario(1024, 1024, "ram: 64M, swap: 0, read_ahead_kb: 512", "2M"));
        Assert.That(m.Env.Counters.Get("pgfault"), Is.LessThanOrEqualTo(1024 / 16));
        Assert.That(m.Env.Counters.Get("pgsteal_file"), Is.GreaterThan(1024 - 512), "the group reclaimed as the file was read");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void DontneedDropsOnlyFoliosWhollyInsideTheRange()
    {
        // invalidate_mapping_pages: a large folio goes whole or not at all. After the first read [32, 64) are eight
        // order-2 folios; POSIX_FADV_DONTNEED-style invalidation of [34, 45] drops the folios [36, 40) and [40, 44)
        // only: [32, 36) and [44, 48) reach outside the range.
        using var m = Run(Scenario(256, 256));
        var k = m.Kernel;
        int file = k.Zone.Frames[k.PageCache.Entries().First(e => e.Index == 40).Pfn].Mapping;
        // Unmapped first (invalidation leaves mapped pages alone): the process exited at the end of its run. Folios its
        // exit left in the lru_add batches go too: fadvise drains them first.
        long dropped = k.Readahead.DontNeed(file, 34, 45, 0);
        Assert.That(dropped, Is.EqualTo(8));
        for (int i = 32; i < 48; i++)
            Assert.That(k.PageCache.Find(file, i) >= 0, Is.EqualTo(i < 36 || i >= 44), $"page {i}");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
