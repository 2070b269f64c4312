using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

public class ArcTests
{
    [Test]
    public void HandWorkedCacheOfTwo()
    {
        // c = 2, p = 0; lists written MRU first.
        // 1: IV, nothing to delete → T1=[1]
        // 2: IV → T1=[2,1]
        // 1: hit (case I) → T1=[2], T2=[1]
        // 3: IV, |L1|=1<2, total=2≥c (≠4) → REPLACE: |T1|=1>p=0 → 2 to B1. T1=[3] B1=[2]. victim 2
        // 2: B1 hit, δ1=1 (|B1|≥|B2|) → p=1; REPLACE: |T1|=1 not >1, 2∉B2 → LRU of T2 (1) to B2.
        //    T1=[3] T2=[2] B1=[] B2=[1]. victim 1
        // 1: B2 hit, δ2=1 → p=0; REPLACE: |T1|=1>0 → 3 to B1. T2=[1,2] B1=[3] B2=[]. victim 3
        // 4: IV, |L1|=1, total=3 → REPLACE: T1 empty → LRU of T2 (2) to B2. T1=[4] T2=[1] B1=[3] B2=[2]. victim 2
        // 5: IV, |L1|=|T1|+|B1|=2=c and |T1|<c → drop ghost 3; REPLACE: 4 to B1. T1=[5] B1=[4]. victim 4
        // 3: IV (3 is no longer a ghost), |L1|=2=c → drop ghost 4; REPLACE: 5 to B1. T1=[3] B1=[5]. victim 5
        var seq = Sim.Pages(1, 2, 1, 3, 2, 1, 4, 5, 3);
        int[] expectedP = [0, 0, 0, 0, 1, 0, 0, 0, 0];
        var arc = new ArcPolicy();
        var sim = new IdealSimulator(2, arc) { EvictionLog = [] };
        for (int i = 0; i < seq.Length; i++)
        {
            sim.Reference(seq[i]);
            Assert.That(arc.TargetT1, Is.EqualTo(expectedP[i]), $"p after reference {i + 1}");
        }
        Assert.That(sim.EvictionLog, Is.EqualTo(Sim.Pages(2, 1, 3, 2, 4, 5)));
        Assert.That(sim.Result.Faults, Is.EqualTo(8));
    }

    [Test]
    public void FullT1EvictsWithoutAGhost()
    {
        // c = 2: 1,2 fill T1=[2,1]. 3: |T1|+|B1| = 2 = c and |T1| = c → delete LRU of T1 (1), no ghost.
        // 1: not a ghost, same case → drop 2. 2: same → drop 3. Victims 1,2,3.
        // (Had 1 become a ghost, its return would adapt p and go to T2, evicting differently.)
        var (r, victims) = Sim.Run("arc", 2, Sim.Pages(1, 2, 3, 1, 2));
        Assert.That(victims, Is.EqualTo(Sim.Pages(1, 2, 3)));
        Assert.That(r.Faults, Is.EqualTo(5));
    }

    /// <summary>
    /// δ1 = |B2|/|B1| = 3/2 at the last reference (a B1 hit with |B1| = 2, |B2| = 3): <c>arc</c> adds 1.5 to p,
    /// <c>arc-int</c> adds 1. The p after each reference was computed by a separate Python transcription of the
    /// paper's pseudocode (lists as Python lists, real or floor division).
    /// </summary>
    [TestCase("arc", new[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 3.5 })]
    [TestCase("arc-int", new[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 3.0 })]
    public void RealValuedDeltaKeepsTheFraction(string name, double[] expectedP)
    {
        var seq = Sim.Pages(5, 3, 5, 9, 11, 4, 7, 4, 2, 3, 10, 7, 1, 2, 6, 9);
        var arc = (ArcPolicy)PolicyRegistry.Create(name, new PolicyOptions(1));
        var sim = new IdealSimulator(5, arc);
        for (int i = 0; i < seq.Length; i++)
        {
            sim.Reference(seq[i]);
            Assert.That(arc.TargetT1, Is.EqualTo(expectedP[i]), $"p after reference {i + 1}");
        }
    }

    /// <summary>A trace where the fraction changes a victim: 15 faults with real δ, 16 with δ rounded down (same Python model).</summary>
    [TestCase("arc", 15)]
    [TestCase("arc-int", 16)]
    public void RealAndIntegerArcFaultDifferently(string name, int faults)
    {
        var (r, _) = Sim.Run(name, 5, Sim.Pages(4, 9, 9, 7, 5, 2, 2, 8, 5, 3, 7, 6, 8, 10, 1, 10, 4, 10, 5, 9, 1));
        Assert.That(r.Faults, Is.EqualTo(faults));
    }
}
