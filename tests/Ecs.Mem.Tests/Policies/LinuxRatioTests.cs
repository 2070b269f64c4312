using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

/// <summary>inactive_is_low(): inactive × ratio &lt; active, ratio = int_sqrt(10 × GiB) (1 below 1 GiB).</summary>
public class LinuxRatioTests
{
    /// <summary>
    /// Fills <paramref name="frames"/> frames, activates the first <paramref name="active"/> pages (two hits each:
    /// referenced, then activated), then streams <paramref name="stream"/> new pages and returns how many of the
    /// activated pages were evicted. Streaming pages go to the inactive list, so the list sizes stay
    /// (frames − active, active) unless shrink_active_list() moves pages across.
    /// </summary>
    private static int ActivePagesEvicted(int frames, int active, int stream)
    {
        var sim = new IdealSimulator(frames, new LruLinuxPolicy()) { EvictionLog = [] };
        for (ulong p = 0; p < (ulong)frames; p++) sim.Reference(p);
        for (int round = 0; round < 2; round++)
            for (ulong p = 0; p < (ulong)active; p++) sim.Reference(p);
        for (ulong p = 0; p < (ulong)stream; p++) sim.Reference(10_000_000 + p);
        return sim.EvictionLog!.Count(v => v < (ulong)active);
    }

    [Test]
    public void AtOneGibTheRatioIsThreeSoAThreeToOneSplitIsNotLow()
    {
        // 262144 frames × 4 KiB = 1 GiB → ratio int_sqrt(10) = 3. Active 150000, inactive 112144:
        // 112144 × 3 = 336432 ≥ 150000 → never low, nothing is deactivated, streaming only evicts
        // inactive pages. (With ratio 1, 112144 < 150000 would deactivate and evict active pages.)
        Assert.That(ActivePagesEvicted(262_144, 150_000, 300_000), Is.EqualTo(0));
    }

    [Test]
    public void BelowOneGibTheRatioIsOneSoMoreActiveThanInactiveIsLow()
    {
        // 1024 frames = 4 MiB → ratio 1. Active 600 > inactive 424 → low: batches of 32 are deactivated
        // at each reclaim until inactive ≥ active, and the streaming pages then evict them.
        // Deactivation stops once inactive ≥ active: (1024 − a) ≥ a ⇔ a ≤ 512, i.e. after 3 batches
        // (600 → 568 → 536 → 504) → 96 active pages become inactive and are evicted by the stream.
        Assert.That(ActivePagesEvicted(1024, 600, 5000), Is.EqualTo(96));
    }
}
