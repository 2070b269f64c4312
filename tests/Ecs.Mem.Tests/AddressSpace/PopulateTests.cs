using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// mm_populate (mm/gup.c populate_vma_page_range, called by do_mmap for MAP_POPULATE and VM_LOCKED, and by
/// mlock): the calling task faults every page of the range in at the call, one minor fault per page; a private
/// writable area gets write faults (FOLL_WRITE), so real zeroed pages and no zero page; a read-only one read faults
/// (the zero page); VM_LOCKONFAULT areas are left to their first touch. Expected counts are pages of the range
/// (64 KiB = 16 pages), worked out by hand; the kernel's own figures are the kit's map-populate, map-locked and
/// mlock-populate programs (OracleKitTests).
/// </summary>
public class PopulateTests
{
    private const string Map = "mmap: {addr: 0x7f0000000000, length: 64K, prot: PROT, flags: private, fixed: true EXTRA}";

    private static SimMachine Run(string timeline, string workload, long stopAt, int batch = 0)
    {
        string yaml = "machine: {ram: 64M, swap: 0}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n" + timeline;
        var s = ScenarioParser.Parse(new StringReader(yaml), "pop.yaml");
        var m = batch > 0 ? ScenarioLoader.Build(s, batch) : ScenarioLoader.Build(s);
        m.Run(() => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]).Accesses >= stopAt, checkEvery: 1);
        return m;
    }

    private static string Ev(string when, string op) => "  - " + when + "\n    process: p\n    " + op + "\n";

    private static string Mmap(string prot, string extra) => Map.Replace("PROT", prot, StringComparison.Ordinal).Replace(" EXTRA", extra, StringComparison.Ordinal);

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static ulong RssAnon(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm.Struct.RssAnon;

    private const string WritePage0 = "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1";
    private const string ReadPage0 = "loop:count=1000000,base=0x7f0000000000,pages=1,writes=0";

    [Test]
    public void MapPopulateWriteFaultsEveryPageOfAPrivateWritableMappingAtTheCall()
    {
        // Without MAP_POPULATE the loop's store to page 0 is the only fault; with it, the 16 pages are faulted in
        // by the mmap (16 minor faults, 16 anonymous pages, none of them the zero page) and the store finds page 0.
        using var plain = Run(Ev("at: 0", Mmap("rw-", "")), WritePage0, 50);
        Assert.That((Stats(plain).MinFlt, RssAnon(plain)), Is.EqualTo((1L, 1UL)));

        using var m = Run(Ev("at: 0", Mmap("rw-", ", populate: true")), WritePage0, 50);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(16));
        Assert.That(Stats(m).MajFlt, Is.EqualTo(0));
        Assert.That(RssAnon(m), Is.EqualTo(16UL));
        Assert.That(Stats(m).ZeroPageMaps, Is.EqualTo(0), "FOLL_WRITE: real pages, not the zero page");
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(16));
    }

    [Test]
    public void MapPopulateOfAReadOnlyPrivateMappingReadFaultsTheZeroPage()
    {
        // No VM_WRITE: no FOLL_WRITE, so each of the 16 pages gets a read fault, which maps the zero page (no RSS).
        using var m = Run(Ev("at: 0", Mmap("r--", ", populate: true")), ReadPage0, 50);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(16));
        Assert.That(Stats(m).ZeroPageMaps, Is.EqualTo(16));
        Assert.That(RssAnon(m), Is.EqualTo(0UL));
    }

    [Test]
    public void MapLockedPopulatesLikeMapPopulate()
    {
        using var m = Run(Ev("at: 0", Mmap("rw-", ", locked: true")), WritePage0, 50);
        Assert.That((Stats(m).MinFlt, RssAnon(m)), Is.EqualTo((16L, 16UL)));
    }

    [Test]
    public void MlockPopulatesItsRangeAndMlockOnFaultDoesNot()
    {
        // The loop's first store faults page 0 in; then mlock of the first 32 KiB (8 pages) faults in pages 1..7:
        // 1 + 7 = 8 faults. With MLOCK_ONFAULT nothing more is faulted: 1.
        string map = Ev("at: 0", Mmap("rw-", ""));
        using var m = Run(map + Ev("after: 1", "mlock: {addr: 0x7f0000000000, length: 32K}"), WritePage0, 50);
        Assert.That((Stats(m).MinFlt, RssAnon(m)), Is.EqualTo((8L, 8UL)));

        using var onFault = Run(map + Ev("after: 1", "mlock: {addr: 0x7f0000000000, length: 32K, onfault: true}"), WritePage0, 50);
        Assert.That((Stats(onFault).MinFlt, RssAnon(onFault)), Is.EqualTo((1L, 1UL)));
    }

    [Test]
    public void MlockOfAPartlyUnmappedRangeStillPopulatesTheMappedPart()
    {
        // mlock of [base, base + 128K) over a 64K mapping: ENOMEM (the hole), but the 16 mapped pages were
        // locked first, and the populate only follows a successful call: the loop's single page is all.
        string t = Ev("at: 0", Mmap("rw-", "")) + Ev("after: 1", "mlock: {addr: 0x7f0000000000, length: 128K}");
        using var m = Run(t, WritePage0, 50);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(1));
    }

    [Test]
    public void TwoCallsAtOnceAreBothPopulatedBeforeTheNextAccess()
    {
        // Two MAP_POPULATE mmaps due together: both ranges (16 + 16 pages) are in before the loop's first access
        // (to the first mapping, already present) completes, at any batch size.
        string t = Ev("at: 0", Mmap("rw-", ", populate: true"))
            + Ev("at: 0", "mmap: {addr: 0x7f0000100000, length: 64K, prot: rw-, flags: private, fixed: true, populate: true}");
        foreach (int batch in new[] { 1, 7 })
        {
            using var m = Run(t, WritePage0, 1, batch);
            Assert.That(Stats(m).Accesses, Is.GreaterThanOrEqualTo(1));
            Assert.That((Stats(m).MinFlt, RssAnon(m)), Is.EqualTo((32L, 32UL)), $"batch {batch}");
        }
    }

    private static FrameFlags FlagsAt(SimMachine m, ulong va)
    {
        ulong pte = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Tables.Lookup(va);
        Assert.That(pte & Pte.PresentBit, Is.Not.Zero, $"0x{va:x} is mapped");
        return m.Kernel.Zone.Frames[(int)((pte & Pte.PfnMask) >> Pte.PageShift)].Flags;
    }

    [Test]
    public void PopulateWriteFaultsTheRangeInAndMarksEachPageAccessedOncePerCall()
    {
        // MADV_POPULATE_WRITE over the 16 pages (madvise_populate → faultin_page_range, FOLL_WRITE | FOLL_TOUCH): 16 write
        // faults, then gup looks each page up again and follow_page_pte's FOLL_TOUCH calls folio_mark_accessed: referenced,
        // not active. Two more calls on page 1 alone (exec's get_arg_page calls on the stack's top page are the same gup):
        // the second folio_mark_accessed activates it and clears PG_referenced, the third sets PG_referenced again, the
        // kpageflags Linux 6.18 shows for that page at main's entry (REFERENCED|ACTIVE, oracle/experiments/stack-top). The
        // loop's own stores to page 0 set only its PTE's young bit, as a user access does.
        const string Page1 = "madvise: {addr: 0x7f0000001000, length: 4096, advice: populate_write}";
        string t = Ev("at: 0", Mmap("rw-", "")) + Ev("after: 1", "madvise: {addr: 0x7f0000000000, length: 64K, advice: populate_write}")
            + Ev("after: 2", Page1) + Ev("after: 3", Page1);
        using var m = Run(t, WritePage0, 50);
        Assert.That((Stats(m).MinFlt, RssAnon(m)), Is.EqualTo((16L, 16UL)), "the loop's fault on page 0, then 15 by the populate");
        Assert.That(Stats(m).ZeroPageMaps, Is.EqualTo(0), "FOLL_WRITE: real pages");
        FrameFlags referencedActive = FrameFlags.Referenced | FrameFlags.Active;
        Assert.That(FlagsAt(m, 0x7f0000001000) & referencedActive, Is.EqualTo(referencedActive), "three gup touches");
        Assert.That(FlagsAt(m, 0x7f0000002000) & referencedActive, Is.EqualTo(FrameFlags.Referenced), "one gup touch");
        Assert.That(FlagsAt(m, 0x7f0000000000) & referencedActive, Is.EqualTo(FrameFlags.Referenced), "faulted by the loop, then one gup touch");
        Assert.That(m.AddressSpace.Log.Count(l => l.Contains("MADV_POPULATE_WRITE) = 0", StringComparison.Ordinal)), Is.EqualTo(3));
    }

    [Test]
    public void PopulateWriteOfAReadOnlyMappingIsEfault()
    {
        // madvise_populate without FOLL_FORCE: a write the VMA does not allow is -EFAULT, and nothing is faulted in.
        string t = Ev("at: 0", Mmap("r--", "")) + Ev("after: 1", "madvise: {addr: 0x7f0000000000, length: 64K, advice: populate_write}");
        using var m = Run(t, ReadPage0, 50);
        Assert.That(m.AddressSpace.Log.Count(l => l.Contains("MADV_POPULATE_WRITE) = -1 EFAULT", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(Stats(m).MinFlt, Is.EqualTo(1), "the loop's read fault only");
    }

    [Test]
    public void ThePrefaultIsTheSameAtEveryBatchSize()
    {
        // The faults are raised by the access stage like an access's own, so the batch size changes nothing.
        string t = Ev("at: 0", Mmap("rw-", ", populate: true")) + Ev("after: 3", "mlock: {addr: 0x7f0000000000, length: 64K}");
        string workload = "loop:count=200,base=0x7f0000000000,pages=4,writes=1";
        var dumps = new List<string>();
        foreach (int batch in new[] { 1, 7, 4096 })
        {
            using var m = Run(t, workload, long.MaxValue, batch);
            Assert.That(m.Finished, Is.True);
            Assert.That(Stats(m).MinFlt, Is.EqualTo(16));
            dumps.Add(MachineDump.Of(m));
        }
        Assert.That(dumps[1], Is.EqualTo(dumps[0]));
        Assert.That(dumps[2], Is.EqualTo(dumps[0]));
    }
}
