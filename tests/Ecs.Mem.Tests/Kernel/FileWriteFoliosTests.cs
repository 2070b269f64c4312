using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Filemap;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Large page-cache folios from write(2) on ext4 (Linux 6.18): write_begin's __filemap_get_folio with
/// fgf_set_order(len) makes a folio as large as each pwrite (capped at the PMD order, smaller where the index is not
/// aligned or the range holds a page), folio_mark_dirty dirties and counts a large folio whole, and a read fault maps a
/// whole large folio inside the VMA, one page table and i_size (filemap_map_folio_range, 357b92761d94 and 74207de2ba10).
/// The figures are the kernel's, recorded by <c>oracle/experiments/write-folios/run.sh 3</c> (results.txt there).
/// </summary>
public class FileWriteFoliosTests
{
    private const ulong Map = 0x7e0000000000; // 2 MiB aligned, as the experiment's mapping

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    /// <summary>
    /// A task that opens a new file, runs <paramref name="writes"/>, maps <paramref name="mapBytes"/> of it shared
    /// read-only and reads <paramref name="readPages"/> pages of it (at least one), one load a page. 256 MiB of RAM, as
    /// the kit's machine: 8 MiB of dirty data stays below the background threshold, so no page is under writeback when
    /// it is read (EcsMem's fault-around leaves those out).
    /// </summary>
    private static SimMachine Run(string writes, long mapBytes, int readPages, string machine = "ram: 256M, swap: 0, writeback: async")
    {
        string yaml = "machine: {" + machine + "}\n"
            + "processes:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"seq:count=" + Math.Max(1, readPages) + ",pages=" + Math.Max(1, readPages)
            + ",base=0x" + Map.ToString("x") + "\"\n"
            + "timeline:\n" + Event("0", "open: {file: /data/f, fd: 3, flags: creat|trunc}") + writes
            + Event("0", $"mmap: {{addr: 0x{Map:x}, length: {mapBytes}, prot: r--, flags: shared, fd: 3, offset: 0, fixed: true}}");
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "file-write-folios.yaml"));
        m.Run();
        return m;
    }

    /// <summary>The file's page-cache folios from page 0 to <paramref name="pages"/>: each folio's order, in file order.</summary>
    private static List<int> Orders(SimMachine m, long pages)
    {
        var k = m.Kernel;
        int file = k.Files.Intern("/data/f");
        var orders = new List<int>();
        for (long i = 0; i < pages; i++)
        {
            int pfn = k.PageCache.Find(file, i);
            Assert.That(pfn, Is.GreaterThanOrEqualTo(0), $"page {i} is cached");
            if (PageCacheFolio.Head(k.Zone.Frames, pfn) == pfn)
                orders.Add(k.Zone.Frames[pfn].FolioOrder);
        }
        return orders;
    }

    /// <summary>
    /// 8 MiB written in pieces of 4 KiB, 64 KiB, 256 KiB, 2 MiB and in one 8 MiB pwrite, then read through a shared
    /// mapping: the folios and the read's faults are the kernel's (write-folios/results.txt, 3 runs each, all alike):
    /// 2,048 × order 0 and 128 faults; 128 × order 4 and 128 (an order-4 folio is one 16-page fault-around window);
    /// 32 × order 6 and 35 (31 folios mapped whole by one fault each, the last, which reaches i_size, by 4 windows);
    /// 4 × order 9 and 4, twice (a write's pieces are at most mapping_max_folio_size, 2 MiB).
    /// </summary>
    [TestCase("4K", 0, 2048, 128)]
    [TestCase("64K", 4, 128, 128)]
    [TestCase("256K", 6, 32, 35)]
    [TestCase("2M", 9, 4, 4)]
    [TestCase("8M", 9, 4, 4)]
    public void EachPwriteMakesFoliosOfItsSizeAndAReadFaultMapsThemWhole(string piece, int order, int folios, long faults)
    {
        using var m = Run(Event("0", $"write: {{fd: 3, length: 8M, offset: 0, piece: {piece}}}"), 8 << 20, 2048);
        Assert.That(Orders(m, 2048), Is.EqualTo(Enumerable.Repeat(order, folios).ToList()));
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(faults));
        Assert.That(m.Env.Counters.Get("pgmajfault"), Is.Zero);
        Assert.That(m.Env.Counters.Get("nr_dirtied"), Is.EqualTo(2048), "folio_account_dirtied counts folio_nr_pages");
        Assert.That(InvariantChecker.Check(m), Is.EqualTo(Array.Empty<string>()));
    }

    /// <summary>
    /// Without large folio support (<c>machine.large_folios: false</c>: mapping_large_folio_support false) every page is
    /// a single one whatever the write's size, and the read takes fault-around's 2,048 / 16 = 128 faults.
    /// </summary>
    [Test]
    public void WithoutLargeFoliosAWriteMakesSinglePages()
    {
        using var m = Run(Event("0", "write: {fd: 3, length: 8M, offset: 0, piece: 256K}"), 8 << 20, 2048,
            "ram: 256M, swap: 0, writeback: async, large_folios: false");
        Assert.That(Orders(m, 2048), Is.EqualTo(Enumerable.Repeat(0, 2048).ToList()));
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(128));
    }

    /// <summary>
    /// __filemap_get_folio's fallbacks: after a 4 KiB write to page 1, a 256 KiB write from page 0 cannot add an order-6
    /// folio at 0 (its range holds page 1: -EEXIST, and so for every order down to 1), so page 0 is a single page; from
    /// page 2 on the order is capped by the index's alignment (__ffs: 1, 2, 3, 4) and at page 32 by the 128 KiB left of the
    /// write (ilog2: order 5). By definition: 0, 0 (page 1), 1, 2, 3, 4, 5.
    /// </summary>
    [Test]
    public void TheOrderFallsWhereTheIndexIsNotAlignedOrTheRangeHoldsAPage()
    {
        string w = Event("0", "write: {fd: 3, length: 4K, offset: 4K}") + Event("0", "write: {fd: 3, length: 256K, offset: 0}");
        using var m = Run(w, 256 << 10, 0);
        Assert.That(Orders(m, 64), Is.EqualTo(new List<int> { 0, 0, 1, 2, 3, 4, 5 }));
    }

    /// <summary>
    /// The i_size test of filemap_map_pages (74207de2ba10: <c>file_end &gt;= folio_next_index(folio)</c>, file_end the
    /// last page's index): a 256 KiB file written in one piece is one order-6 folio that reaches i_size, so its 64 pages
    /// are read by fault-around's 16-page windows, 4 faults; one more 4 KiB page written after it puts the folio's end
    /// before the last page, and the same reads take one fault (the folio mapped whole).
    /// </summary>
    [Test]
    public void AFolioThatReachesISizeIsMappedByWindowsOnly()
    {
        using (var m = Run(Event("0", "write: {fd: 3, length: 256K, offset: 0}"), 256 << 10, 64))
        {
            Assert.That(Orders(m, 64), Is.EqualTo(new List<int> { 6 }));
            Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(4));
        }
        using (var m = Run(Event("0", "write: {fd: 3, length: 260K, offset: 0, piece: 256K}"), 260 << 10, 64))
        {
            Assert.That(Orders(m, 65), Is.EqualTo(new List<int> { 6, 0 }));
            Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(1));
        }
    }

    /// <summary>
    /// folio_mark_dirty dirties a large folio whole: a 256 KiB write makes one order-6 folio, 64 pages dirtied
    /// (nr_dirtied 64); fsync writes it (nr_written 64) and leaves it clean and whole; a 4 KiB pwrite into its middle
    /// then dirties all 64 pages again (nr_dirtied 128), the folio still one order-6 folio.
    /// </summary>
    [Test]
    public void AWriteIntoALargeFolioDirtiesItWhole()
    {
        string w = Event("0", "write: {fd: 3, length: 256K, offset: 0}") + Event("0", "fsync: {fd: 3}")
            + Event("0", "write: {fd: 3, length: 4K, offset: 128K}");
        using var m = Run(w, 256 << 10, 0, "ram: 256M, swap: 0, writeback: async, dirty_writeback_centisecs: 0");
        var k = m.Kernel;
        Assert.That(Orders(m, 64), Is.EqualTo(new List<int> { 6 }));
        Assert.That(m.Env.Counters.Get("nr_written"), Is.EqualTo(64));
        Assert.That(m.Env.Counters.Get("nr_dirtied"), Is.EqualTo(128));
        int file = k.Files.Intern("/data/f");
        for (long i = 0; i < 64; i++)
            Assert.That(k.Zone.Frames[k.PageCache.Find(file, i)].Flags & FrameFlags.Dirty, Is.EqualTo(FrameFlags.Dirty), $"page {i} is dirty");
        Assert.That(InvariantChecker.Check(m), Is.EqualTo(Array.Empty<string>()));
    }
}
