using EcsMem.Systems.Events;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// machine.charge_after_alloc on readahead's single pages (mm/readahead.c page_cache_ra_unbounded, Linux 6.18): the
/// loop allocates a page (filemap_alloc_folio) and then charges it (filemap_add_folio → mem_cgroup_charge); a charge
/// that finds the group full reclaims it with the page in hand, so the page the window goes on with after that reclaim
/// is the one it allocated before it, not one the reclaim freed. (The fault path's page: ReclaimFreeBatchTests.)
/// </summary>
public class ChargeAfterAllocTests
{
    private const string Base = MemcgTests.Base;

    /// <summary>A reader in a 1 MiB (256-page) group faults through a 1,024-page file read ahead 32 pages at a time, in single pages.</summary>
    private static string Scenario(bool chargeAfterAlloc) =>
        "machine: {ram: 64M, swap: 0, read_ahead_kb: 128, large_folios: false, charge_after_alloc: " + (chargeAfterAlloc ? "true" : "false") + "}\n" +
        "cgroups:\n  - {name: box, memory.max: 1M}\n" +
        "processes:\n  - name: reader\n    cgroup: box\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=1024,base=" + Base + ",pages=1024\"}\n" +
        "timeline:\n  - at: 0\n    process: reader\n    mmap: {addr: " + Base + ", length: 4194304, prot: r--, flags: private, file: /data/f, fixed: true}\n";

    /// <summary>
    /// A 4 MiB write(2) into a new tmpfs file from the same 1 MiB group, with swap: each new page (shmem_alloc_folio, then
    /// mem_cgroup_charge) that finds the group full reclaims it, the writer's page in hand.
    /// </summary>
    private static string WriteScenario(bool chargeAfterAlloc) =>
        "machine: {ram: 64M, swap: 64M, charge_after_alloc: " + (chargeAfterAlloc ? "true" : "false") + "}\n" +
        "cgroups:\n  - {name: box, memory.max: 1M}\n" +
        "processes:\n  - name: writer\n    cgroup: box\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=1,base=" + Base + ",pages=1\"}\n" +
        "timeline:\n  - at: 0\n    process: writer\n    mmap: {addr: " + Base + ", length: 4096, prot: rw-, flags: private, fixed: true}\n" +
        "  - after: 0\n    process: writer\n    open: {file: /dev/shm/f, fd: 3, flags: creat|trunc}\n" +
        "  - after: 0\n    process: writer\n    write: {fd: 3, length: 4M, offset: 0}\n";

    /// <summary>
    /// write(2)'s pages (OpenFiles.AllocThenCharge): every reclaim the writer's charges make finds at most one page held
    /// for a charge, some find one, and the run is clean between ticks (no held page left behind); its whole file is in
    /// the page cache or out on swap. Charged first, no reclaim finds a held page.
    /// </summary>
    [Test]
    public void AWritesNewPageIsHeldThroughTheReclaimItsChargeMakes()
    {
        foreach (bool after in new[] { true, false })
        {
            using SimMachine m = MemcgTests.Build(WriteScenario(after));
            var probe = new Probe(m);
            m.Kernel.AttachEvents(probe);
            m.RunChecked();
            Assert.That(m.Finished, Is.True);
            Assert.That(probe.Rounds, Is.Not.Empty, "the group fills");
            Assert.That(probe.Rounds, Has.All.Matches<(List<int> Held, int NextRead)>(r => r.Held.Count <= 1));
            Assert.That(probe.Rounds.Count(r => r.Held.Count == 1), after ? Is.GreaterThan(0) : Is.EqualTo(0));
            Assert.That(m.Kernel.Swap.UsedPages + m.Kernel.Memcg!.Find("box").Usage, Is.GreaterThanOrEqualTo(1024), "4 MiB written: in memory or on swap");
        }
    }

    /// <summary>Each direct reclaim's held, uncharged pages, and the frame of the next page readahead added after it.</summary>
    private sealed class Probe(SimMachine m) : IEventSink
    {
        public readonly List<(List<int> Held, int NextRead)> Rounds = new();

        public void Write(in MemEvent e)
        {
            if (e.Kind == MemEventKind.Reclaim && e.Direct)
                Rounds.Add((ReclaimFreeBatchTests.HeldUncharged(m), -1));
            else if (e.Kind == MemEventKind.FileRead && Rounds.Count > 0 && Rounds[^1].NextRead < 0)
                Rounds[^1] = (Rounds[^1].Held, e.Pfn);
        }
    }

    private static Probe Run(bool chargeAfterAlloc)
    {
        using SimMachine m = MemcgTests.Build(Scenario(chargeAfterAlloc));
        var probe = new Probe(m);
        m.Kernel.AttachEvents(probe);
        m.RunChecked(); // the invariants between ticks too: a page held for its charge across ticks is not a leak
        Assert.That(m.Finished, Is.True);
        return probe;
    }

    /// <summary>
    /// Every reclaim a window's charge makes finds exactly one page held for it, uncharged (the page whose charge
    /// failed), and the window's next page after the reclaim is that one. Charged first (the key off) no reclaim finds a
    /// held page.
    /// </summary>
    [Test]
    public void AReadaheadPageWhoseChargeReclaimsIsTheOneAllocatedBeforeTheReclaim()
    {
        Probe linux = Run(chargeAfterAlloc: true);
        var held = linux.Rounds.Where(r => r.Held.Count > 0).ToList();
        Assert.That(held, Is.Not.Empty, "the group fills, so windows' charges reclaim");
        foreach (var (h, next) in held)
        {
            Assert.That(h, Has.Count.EqualTo(1));
            Assert.That(next, Is.EqualTo(h[0]), "the window goes on with the page it held through the reclaim");
        }
        Probe before = Run(chargeAfterAlloc: false);
        Assert.That(before.Rounds, Is.Not.Empty);
        Assert.That(before.Rounds.Where(r => r.Held.Count > 0), Is.Empty);
    }
}
