using EcsMem.Systems.Events;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// Readahead under a memory cgroup's limit (mm/readahead.c page_cache_ra_unbounded, mm/memcontrol.c try_charge_memcg):
/// each readahead page charged over memory.max makes one reclaim of the group for that page —
/// try_to_free_mem_cgroup_pages(nr_pages 1), whose nr_to_reclaim is max(1, SWAP_CLUSTER_MAX) = 32 — not one reclaim of
/// the rest of the window. Recorded on Linux 6.18 (oracle/experiments/ra-memcg-trace): every mm_vmscan_memcg_reclaim
/// round of the kit's swappiness-0 and ra-reread-memcg reclaimed 0–112 pages, median 32–48.
/// </summary>
public class MemcgReadaheadTests
{
    private const string Base = MemcgTests.Base;

    /// <summary>
    /// One reader in a 1 MiB (256-page) group maps a 1,024-page file and reads it once; read_ahead_kb 2048 makes a
    /// 512-page read-around window, twice the room, so the windows are read in parts, each after a reclaim of the group.
    /// Single pages only (<c>large_folios: false</c>): the rule under test is the one-page charge's round; a large
    /// folio's charge asks for its folio_nr_pages at once (try_charge_memcg's nr_pages) and isolate_lru_folios takes a
    /// large folio whole, so with folios of up to order 8 in a 512-page window a round may exceed 95 pages.
    /// </summary>
    private static string Scenario() =>
        "machine: {ram: 64M, read_ahead_kb: 2048, fault_around_bytes: 4096, large_folios: false}\n" +
        "cgroups:\n  - {name: box, memory.max: 1M}\n" +
        "processes:\n  - name: reader\n    cgroup: box\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=1024,base=" + Base + ",pages=1024\"}\n" +
        "timeline:\n  - at: 0\n    process: reader\n    mmap: {addr: " + Base + ", length: 4194304, prot: r--, flags: private, file: /data/f, fixed: true}\n";

    [Test]
    public void AReadaheadChargeOverTheLimitReclaimsOneClusterNotTheRestOfTheWindow()
    {
        using SimMachine m = MemcgTests.Build(Scenario());
        var sink = new ListEventSink();
        m.Kernel.AttachEvents(sink);
        m.Run();
        Assert.That(m.Finished, Is.True);
        MemCgroup box = m.Kernel.Memcg!.Find("box");
        var rounds = sink.Events.Where(e => e.Kind == MemEventKind.Reclaim && e.Direct).Select(e => e.Reclaimed).ToList();
        // The file alone is 1,024 pages against 256 of room: at least 1,024 − 256 pages must be reclaimed.
        Assert.That(rounds.Sum(), Is.GreaterThanOrEqualTo(1024 - 256));
        // nr_to_reclaim 32: a round stops at the first SWAP_CLUSTER_MAX chunk that reaches it, so it never takes more
        // than 31 + one 32-page chunk of each of the two inactive lists (95). The whole rest of a 512-page window
        // (before: one reclaim of up to 2,048 pages) would break this.
        Assert.That(rounds, Has.All.LessThanOrEqualTo(31 + 2 * 32));
        Assert.That(rounds.Count, Is.GreaterThanOrEqualTo((1024 - 256) / 95));
        Assert.That(box.Events[(int)MemcgEvent.Max], Is.GreaterThanOrEqualTo(rounds.Count(r => r > 0)));
        Assert.That(box.Usage, Is.LessThanOrEqualTo(256));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
