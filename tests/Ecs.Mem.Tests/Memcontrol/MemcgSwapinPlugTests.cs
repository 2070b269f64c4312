using EcsMem.Systems.Events;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// An anonymous swap-in's charge is made inside swap readahead's blk_start_plug (swap_vma_readahead allocates and
/// charges the faulting page and its neighbours in one plugged loop), so a memcg reclaim it enters issues no write
/// until it ends: when the inactive tail holds no written page to free, the reclaim walks the priorities down to 0 and
/// writes every old page of the group, and the following reclaims free those pages 41 at a time as their writes
/// complete (rotated to the tail), leaving thousands of written pages in the swap cache meanwhile.
/// Recorded on Linux 6.18 (oracle/experiments/swap-cache-residue, the kit's swap-anon-write: 32 MiB written twice under
/// a 16 MiB cgroup-v1 limit, 3 runs): the rewrite pass made 198 memcg reclaims; 192–196 of them stopped at priority 5
/// having written nothing (median 0 written, 41 freed), 4–6 went down to priority 0–2, and 2–3 of those wrote
/// 2,613–3,960 pages each (8,052–12,021 in the pass); swapcached sampled every 2 ms had a median of 1,418–1,925 pages.
/// Without the plug the same pass wrote at most 214 pages a reclaim and kept 2–199 pages in the swap cache.
/// </summary>
public class MemcgSwapinPlugTests
{
    private const int Pages = 8192; // 32 MiB

    private static string Scenario() =>
        "machine: {ram: 256M, swap: 1G, page_cluster: 3, writeback: async, cgroup_version: 1, disk_queue_depth: 4}\n" +
        "cgroups:\n  - {name: box, memory.max: 16M}\n" +
        "processes:\n  - name: w\n    cgroup: box\n    layout: {exec: {}}\n" +
        $"    workload: {{generator: \"loop:count={2 * Pages},base={MemcgTests.Base},pages={Pages},writes=1\"}}\n" +
        $"timeline:\n  - at: 0\n    process: w\n    mmap: {{addr: {MemcgTests.Base}, length: {Pages * 4096}, prot: rw-, flags: private, fixed: true}}\n";

    /// <summary>Each memcg reclaim's pages written (pswpout since the previous reclaim: only reclaim writes here) and the swap cache after it.</summary>
    private sealed class ReclaimSink(SimMachine m) : IEventSink
    {
        public readonly List<(int Written, long Reclaimed, int SwapCache)> Rounds = new();
        private long _pswpout = m.Env.Counters[m.Kernel.C.PswpOut];

        public void Write(in MemEvent e)
        {
            if (e.Kind != MemEventKind.Reclaim || !e.Direct)
                return;
            long now = m.Env.Counters[m.Kernel.C.PswpOut];
            Rounds.Add(((int)(now - _pswpout), e.Reclaimed, m.Kernel.SwapCache.Count));
            _pswpout = now;
        }
    }

    [Test]
    public void TheRewritePassesReclaimsWriteTheWholeOldListAtOnceAndLeaveItInTheSwapCache()
    {
        using SimMachine m = MemcgTests.Build(Scenario());
        MemcgTests.Advance(m, Pages);
        var sink = new ReclaimSink(m);
        m.Kernel.AttachEvents(sink);
        m.Run();
        Assert.That(m.Finished, Is.True);
        var rounds = sink.Rounds;
        // 8,192 swap-ins charged against a full group, a reclaim freeing ~41 pages: the kernel made 198 in each run.
        Assert.That(rounds.Count, Is.InRange(198 - 20, 198 + 20));
        var written = rounds.Select(r => r.Written).OrderBy(w => w).ToList();
        Assert.That(written[written.Count / 2], Is.EqualTo(0), "most reclaims only free pages written earlier");
        // A plugged reclaim writes every old page of the group: at least the kernel's smallest such write (2,613),
        // at most the group (4,096 pages).
        var big = rounds.Where(r => r.Written >= 2613).ToList();
        Assert.That(big.Count, Is.InRange(1, 3), "the kernel: 2–3 such reclaims a pass");
        Assert.That(big.Max(r => r.Written), Is.LessThanOrEqualTo(4096));
        Assert.That(rounds.Sum(r => r.Written), Is.InRange(8052, 12021), "the kernel wrote 8,052–12,021 pages in the pass");
        // The written pages wait in the swap cache until a reclaim frees them: the kernel's median 1,418–1,925 pages
        // (its 2 ms samples; here after each reclaim).
        var cached = rounds.Select(r => r.SwapCache).OrderBy(c => c).ToList();
        Assert.That(cached[cached.Count / 2], Is.InRange(1418, 1925));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
