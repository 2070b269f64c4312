using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using NUnit.Framework;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// folio_isolate_lru's reference (mm/vmscan.c): a folio shrink_folio_list holds isolated cannot be freed by anyone
/// else meanwhile. Here: cgroup v1 memcg reclaim (shrink_folio_list's case 3, folio_wait_writeback) waits on an
/// anonymous swap-cache page whose PTE MADV_DONTNEED dropped while its write was in flight; the write's completion
/// (folio_end_writeback) must leave the orphaned page to reclaim, which frees it once (__remove_mapping). Before the fix
/// the completion freed it and reclaim's release freed it again: "pcp free: double free of pfn 217".
/// </summary>
public class IsolatedFolioWritebackTests
{
    // The smallest set-up found that crashed: 1,024 pages written in order under a 1 MiB (256-page) cgroup v1 limit,
    // so reclaim swaps the oldest out asynchronously, and the first 1 MiB dropped after 400 stores, while the last
    // batch of its writes is still in flight; the stores that follow make reclaim meet those orphans again.
    private const string Yaml = """
        description: orphaned swap-cache pages under writeback met again by cgroup v1 memcg reclaim
        machine:
          ram: 64M
          swap: 64M
          swap_type: partition
          writeback: async
          cgroup_version: 1
          disk_queue_depth: 4
        cgroups:
          - {name: g, memory.max: 1M}
        processes:
          - name: p
            cgroup: g
            layout: {exec: {text: 64K, heap: 0}}
            workload: {generator: "seq:count=1024,pages=1024,writes=1,base=0x10000000"}
        timeline:
          - after: 0
            process: p
            mmap: {addr: 0x10000000, length: 4M, prot: rw-, flags: private, fixed: true}
          - after: 400
            process: p
            madvise: {addr: 0x10000000, length: 1M, advice: dontneed}
        """;

    [Test]
    public void AWriteCompletingWhileReclaimHoldsTheOrphanedPageLeavesItsFreeToReclaim()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(Yaml), "isolated-writeback.yaml");
        using SimMachine m = ScenarioLoader.Build(s, null);
        var zone = m.Kernel.Zone;
        int InUse() => zone.Frames.Count(f => !f.IsFree);
        int inUseAtStart = InUse();
        long pgalloc0 = m.Env.Counters.Get("pgalloc_normal");
        long pgfree0 = m.Env.Counters.Get("pgfree");

        Assert.DoesNotThrow(() => m.Run(), "no frame freed twice");
        Assert.That(m.Finished, Is.True);

        // Each page freed once: every pgfree returned a frame that was in use, so the allocations minus the frees are
        // the frames the run leaves in use, counted frame by frame (a second free of one frame counts pgfree twice).
        long pgalloc = m.Env.Counters.Get("pgalloc_normal") - pgalloc0;
        long pgfree = m.Env.Counters.Get("pgfree") - pgfree0;
        Assert.That(pgalloc - pgfree, Is.EqualTo(InUse() - inUseAtStart), "pgfree counted once a freed frame");
        // One first-touch fault a page, none after: the dropped range is not touched again.
        Assert.That(m.Env.Counters.Get("pgfault"), Is.EqualTo(1024));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
