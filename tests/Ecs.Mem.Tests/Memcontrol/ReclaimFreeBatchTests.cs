using EcsMem.Components;
using EcsMem.Systems.Events;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// shrink_folio_list's free_folios (mm/vmscan.c, Linux 6.18): a reclaimed folio goes into a folio_batch, and whenever
/// the batch is full (PAGEVEC_SIZE, 31 folios) and at the call's end the batch is uncharged
/// (mem_cgroup_uncharge_folios), its TLB entries flushed (try_to_unmap_flush) and its frames freed
/// (free_unref_folios: onto the freeing CPU's per-CPU list, each at its head). So try_to_free_mem_cgroup_pages returns
/// to the charge that called it with the group already below its limit, and the allocation after it gets the frame
/// freed last. <c>machine.reclaim_free_batch: false</c> is EcsMem before session 26: every frame reclaim freed in a
/// tick waited for the page-table rewrite at the tick's end.
/// </summary>
public class ReclaimFreeBatchTests
{
    private const string Base = MemcgTests.Base;

    /// <summary>
    /// One reader in a 1 MiB (256-page) group maps a 400-page file and touches each page once, one page a fault
    /// (read_ahead_kb 0, fault-around of one page), no swap: from the limit on, a fault's charge finds the group full,
    /// and the group's reclaim takes its oldest file pages, each mapped by one PTE.
    /// </summary>
    private static string Scenario(bool batch, bool chargeAfterAlloc = true) =>
        "machine: {ram: 64M, swap: 0, read_ahead_kb: 0, fault_around_bytes: 4096, reclaim_free_batch: " + (batch ? "true" : "false")
        + ", charge_after_alloc: " + (chargeAfterAlloc ? "true" : "false") + "}\n" +
        "cgroups:\n  - {name: box, memory.max: 1M}\n" +
        "processes:\n  - name: reader\n    cgroup: box\n    layout: {exec: {}}\n" +
        "    workload: {generator: \"seq:count=400,base=" + Base + ",pages=400\"}\n" +
        "timeline:\n  - at: 0\n    process: reader\n    mmap: {addr: " + Base + ", length: 1638400, prot: r--, flags: private, file: /data/f, fixed: true}\n";

    /// <summary>What the machine looked like at each reclaim of the group, seen from the event stream.</summary>
    private sealed class Probe(SimMachine m) : IEventSink
    {
        /// <summary>One direct reclaim: its frames unmapped before it returned, the group's usage then and before, and the frames the next two faults got.</summary>
        public sealed class Round
        {
            public long Reclaimed, UsageBefore, UsageAfter;
            public List<int> Unmapped = new();
            public bool AllFreeAtReturn;
            public List<int> NextAllocs = new();
            /// <summary>Frames allocated and pinned when the reclaim returned, but uncharged, unmapped and in no mapping.</summary>
            public List<int> HeldUncharged = new();
        }

        public readonly List<Round> Rounds = new();

        /// <summary>The most frames an unmap found unmapped before it in the same reclaim and not yet free.</summary>
        public int MostHeld;

        private readonly List<int> _unmapped = new();
        private long _usage;

        private MemCgroup Box => m.Kernel.Memcg!.Find("box");

        public void Write(in MemEvent e)
        {
            Frame[] frames = m.Kernel.Zone.Frames;
            switch (e.Kind)
            {
                case MemEventKind.Unmap:
                    MostHeld = Math.Max(MostHeld, _unmapped.Count(p => !frames[p].IsFree));
                    _unmapped.Add(e.Pfn);
                    break;
                case MemEventKind.Reclaim when e.Direct:
                    Rounds.Add(new Round
                    {
                        Reclaimed = e.Reclaimed,
                        UsageBefore = _usage,
                        UsageAfter = Box.Usage,
                        Unmapped = new List<int>(_unmapped),
                        AllFreeAtReturn = _unmapped.All(p => frames[p].IsFree),
                        HeldUncharged = HeldUncharged(m),
                    });
                    _unmapped.Clear();
                    break;
                case MemEventKind.Alloc:
                    if (Rounds.Count > 0 && Rounds[^1].NextAllocs.Count < 2)
                        Rounds[^1].NextAllocs.Add(e.Pfn);
                    _usage = Box.Usage;
                    break;
            }
        }
    }

    /// <summary>
    /// Each reclaim the group's charges make (at least SWAP_CLUSTER_MAX pages: nr_to_reclaim = max(1, 32)) unmaps its
    /// pages, hands them back and uncharges them before it returns: the R pages it reports were each unmapped (one
    /// PTE, the reader's), are free when it returns, and the group's usage then is R below what the charging fault
    /// found. The shrink_folio_list call that frees 32 folios frees its first 31 as one batch, before it unmaps the
    /// 32nd: no unmap ever finds more than 30 earlier frames of its reclaim still held, and one finds 30. The two
    /// faults after the reclaim get the page the charging fault allocated before it (machine.charge_after_alloc, the
    /// default: folio_prealloc allocates, then charges), then the frame freed last (the per-CPU list's head). With the frees at the
    /// tick's end (<c>reclaim_free_batch: false</c>) none of the unmaps has happened when the reclaim returns, the
    /// usage has not moved, and an unmap finds R - 1 earlier frames held (57 for this scenario's first reclaim of 58).
    /// </summary>
    [Test]
    public void ACgroupReclaimFreesAndUnchargesItsPagesBeforeItReturnsInBatchesOf31()
    {
        using SimMachine m = MemcgTests.Build(Scenario(batch: true));
        var probe = new Probe(m);
        m.Kernel.AttachEvents(probe);
        m.Run();
        Assert.That(m.Finished, Is.True);
        // 400 pages through 256 of room: at least 144 reclaimed, in rounds of at least 32.
        Assert.That(probe.Rounds.Sum(r => r.Reclaimed), Is.GreaterThanOrEqualTo(400 - 256));
        Assert.That(probe.Rounds.Where(r => r.Reclaimed > 0), Has.All.Matches<Probe.Round>(r => r!.Reclaimed >= 32));
        foreach (Probe.Round r in probe.Rounds.Where(r => r.Reclaimed > 0))
        {
            Assert.That(r.Unmapped, Has.Count.EqualTo(r.Reclaimed), "one PTE a reclaimed page, rewritten before the reclaim returns");
            Assert.That(r.AllFreeAtReturn, Is.True, "free_unref_folios ran inside shrink_folio_list");
            Assert.That(r.UsageAfter, Is.EqualTo(r.UsageBefore - r.Reclaimed), "mem_cgroup_uncharge_folios ran inside shrink_folio_list");
            Assert.That(r.HeldUncharged, Has.Count.EqualTo(1), "the charging fault's page, allocated before its charge failed");
            Assert.That(r.Unmapped, Does.Not.Contain(r.HeldUncharged[0]));
            Assert.That(r.NextAllocs, Is.EqualTo(new[] { r.HeldUncharged[0], r.Unmapped[^1] }), "its own page, then last freed, first reused");
        }
        Assert.That(probe.MostHeld, Is.EqualTo(ReclaimHostPagevec - 1), "a folio_batch holds PAGEVEC_SIZE = 31 folios");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    private const int ReclaimHostPagevec = EcsMem.Systems.Vmscan.ReclaimHost.PagevecSize;

    /// <summary>
    /// The frames allocated and pinned but uncharged, unmapped and in no mapping (the shared zero page aside): a page
    /// held through the reclaim its failed charge makes (machine.charge_after_alloc).
    /// </summary>
    internal static List<int> HeldUncharged(SimMachine m)
    {
        Frame[] frames = m.Kernel.Zone.Frames;
        return Enumerable.Range(0, frames.Length).Where(p => p != m.Kernel.Zone.ZeroPfn && !frames[p].IsFree && m.Kernel.Zone.Pins[p] > 0
            && frames[p].MapCount == 0 && frames[p].Mapping < 0 && m.Kernel.Memcg!.OfFrame(p) is null).ToList();
    }

    /// <summary>
    /// <c>machine.charge_after_alloc: false</c> (EcsMem before session 27: charged first, then allocated): the charging
    /// fault holds no page through its reclaim and gets the frame freed last, the next fault the one freed before it.
    /// The group's figures do not depend on the order: the same rounds reclaim the same number of pages.
    /// </summary>
    [Test]
    public void ChargedFirstTheChargingFaultGetsTheFrameFreedLast()
    {
        using SimMachine before = MemcgTests.Build(Scenario(batch: true, chargeAfterAlloc: false));
        var probe = new Probe(before);
        before.Kernel.AttachEvents(probe);
        before.Run();
        using SimMachine after = MemcgTests.Build(Scenario(batch: true));
        var linux = new Probe(after);
        after.Kernel.AttachEvents(linux);
        after.Run();
        foreach (Probe.Round r in probe.Rounds.Where(r => r.Reclaimed > 0))
        {
            Assert.That(r.HeldUncharged, Is.Empty);
            Assert.That(r.NextAllocs, Is.EqualTo(new[] { r.Unmapped[^1], r.Unmapped[^2] }), "last freed, first reused");
        }
        Assert.That(probe.Rounds.Select(r => r.Reclaimed), Is.EqualTo(linux.Rounds.Select(r => r.Reclaimed)));
        Assert.That(InvariantChecker.Check(before), Is.Empty);
    }

    /// <summary>
    /// The machine key off: EcsMem before session 26, every frame waits for the tick's page-table rewrite, so the reclaim
    /// returns with its pages mapped, charged and held (the figures the test above rules out).
    /// </summary>
    [Test]
    public void WithTheKeyOffTheFramesWaitForTheTicksEnd()
    {
        using SimMachine m = MemcgTests.Build(Scenario(batch: false));
        var probe = new Probe(m);
        m.Kernel.AttachEvents(probe);
        m.Run();
        Probe.Round first = probe.Rounds.First(r => r.Reclaimed > 0);
        Assert.That(first.Unmapped, Is.Empty);
        Assert.That(first.UsageAfter, Is.EqualTo(first.UsageBefore));
        Assert.That(probe.MostHeld, Is.EqualTo(first.Reclaimed - 1));
    }
}
