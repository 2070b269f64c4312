namespace EcsMem.Tests.Policies;

/// <summary>The classic reference string 1,2,3,4,1,2,5,1,2,3,4,5 (Belady 1969; Silberschatz ch. 10).</summary>
public class TextbookTests
{
    private static readonly ulong[] Belady = Sim.Pages(1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5);

    // FIFO, 3 frames: 1 2 3 miss; 4 evicts 1; 1 evicts 2; 2 evicts 3; 5 evicts 4; 1 2 hit;
    // 3 evicts 1; 4 evicts 2; 5 hit → 9 faults.
    // FIFO, 4 frames: 1-4 miss; 1 2 hit; 5 evicts 1; 1 evicts 2; 2 evicts 3; 3 evicts 4; 4 evicts 5;
    // 5 evicts 1 → 10 faults. LRU 3: 10, LRU 4: 8. OPT 3: 7, OPT 4: 6.
    [TestCase("fifo", 3, 9)]
    [TestCase("fifo", 4, 10)]
    [TestCase("lru", 3, 10)]
    [TestCase("lru", 4, 8)]
    [TestCase("opt", 3, 7)]
    [TestCase("opt", 4, 6)]
    public void TextbookFaultCounts(string policy, int frames, int faults)
    {
        var (r, _) = Sim.Run(policy, frames, Belady);
        Assert.That(r.Faults, Is.EqualTo(faults));
        Assert.That(r.Hits, Is.EqualTo(12 - faults));
        Assert.That(r.ColdFaults, Is.EqualTo(5));
        Assert.That(r.CapacityFaults, Is.EqualTo(faults - 5));
        Assert.That(r.Evictions, Is.EqualTo(faults - frames));
        Assert.That(r.FaultRatio, Is.EqualTo(faults / 12.0));
    }

    [Test]
    public void FifoShowsBeladysAnomaly()
    {
        var (three, _) = Sim.Run("fifo", 3, Belady);
        var (four, _) = Sim.Run("fifo", 4, Belady);
        Assert.That(four.Faults, Is.GreaterThan(three.Faults));
    }

    [Test]
    public void FifoVictimsMatchTheWorking()
    {
        // From the working above: 3 frames evict 1,2,3,4,1,2.
        var (_, victims) = Sim.Run("fifo", 3, Belady);
        Assert.That(victims, Is.EqualTo(Sim.Pages(1, 2, 3, 4, 1, 2)));
    }

    [Test]
    public void OptVictimsMatchTheWorking()
    {
        // OPT, 3 frames: 1 2 3 miss; 4: next uses 1@5 2@6 3@10 → evict 3; 1 2 hit;
        // 5: next uses 1@8 2@9 4@11 → evict 4; 1 2 hit; 3: 1 and 2 never used again (dead), 5@12:
        // dead pages rank furthest, oldest last use first: 1 (last used at 8) before 2 (at 9) → evict 1;
        // 4: dead 2 (last 9) and 3 (last 10) → evict 2; 5 hit. 7 faults, victims 3,4,1,2.
        var (r, victims) = Sim.Run("opt", 3, Belady);
        Assert.That(victims, Is.EqualTo(Sim.Pages(3, 4, 1, 2)));
        Assert.That(r.Faults, Is.EqualTo(7));
    }

    [Test]
    public void WithOneFrameEveryPolicyEvictsTheOnlyPage()
    {
        // With one frame every policy evicts the only page on each fault: faults = number of page changes + 1.
        var pages = Sim.Pages(1, 1, 2, 2, 2, 3, 1, 1);
        foreach (string p in Sim.BuiltIns)
            Assert.That(Sim.Run(p, 1, pages).Result.Faults, Is.EqualTo(4), p);
    }

    [Test]
    public void ColdAndCapacityFaultsAreSplitByFirstReference()
    {
        // 1 frame, 1,2,1,3,1: every reference faults; 1,2,3 are first references (cold = 3),
        // the two later 1s were resident before and evicted (capacity = 2).
        var (r, victims) = Sim.Run("lru", 1, Sim.Pages(1, 2, 1, 3, 1));
        Assert.That((r.ColdFaults, r.CapacityFaults, r.Evictions), Is.EqualTo((3L, 2L, 4L)));
        Assert.That(victims, Is.EqualTo(Sim.Pages(1, 2, 1, 3)));
    }
}
