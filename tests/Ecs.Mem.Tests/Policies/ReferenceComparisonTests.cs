namespace EcsMem.Tests.Policies;

/// <summary>
/// Every built-in policy against its naive reference (ReferencePolicies.cs) on thousands of seeded uniform and
/// zipf-like strings at several frame counts: same fault count and the same victims in the same order.
/// </summary>
public class ReferenceComparisonTests
{
    private static readonly int[] FrameCounts = [1, 2, 3, 5, 8, 13];

    private static IEnumerable<TestCaseData> Cases() => Sim.BuiltIns.Select(p => new TestCaseData(p).SetName($"MatchesReference({p})"));

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(string policy)
    {
        int checkedRuns = 0;
        for (ulong t = 0; t < 1200; t++)
        {
            var rng = new TestRng(t * 7919 + 17);
            int length = 100 + (int)rng.Below(700);
            int distinct = 2 + (int)rng.Below(30);
            ulong[] pages = t % 2 == 0
                ? TestTraces.Uniform(t, length, distinct)
                : TestTraces.Zipf(t, length, distinct, 0.6 + 0.1 * (t % 8));
            foreach (int frames in FrameCounts)
            {
                ulong seed = t + 1000;
                var (expectedFaults, expectedVictims) = ReferenceCache.For(policy, frames, pages, seed).Replay(pages);
                var (r, victims) = Sim.Run(policy, frames, pages, seed);
                if (r.Faults != expectedFaults || !victims.SequenceEqual(expectedVictims))
                    Assert.Fail($"{policy}: trace {t} (length {length}, {distinct} pages), {frames} frames: " +
                                $"faults {r.Faults} vs reference {expectedFaults}, first victim difference at " +
                                $"{FirstDifference(victims, expectedVictims)}");
                checkedRuns++;
            }
        }
        Assert.That(checkedRuns, Is.EqualTo(1200 * FrameCounts.Length));
    }

    private static int FirstDifference(List<ulong> a, List<ulong> b)
    {
        int n = Math.Min(a.Count, b.Count);
        for (int i = 0; i < n; i++)
            if (a[i] != b[i]) return i;
        return n;
    }

    [Test]
    public void OptNeverFaultsMoreThanAnyOtherPolicy()
    {
        for (ulong t = 0; t < 300; t++)
        {
            ulong[] pages = t % 2 == 0 ? TestTraces.Uniform(t, 600, 25) : TestTraces.Zipf(t, 600, 40, 0.8);
            foreach (int frames in FrameCounts)
            {
                long opt = Sim.Run("opt", frames, pages).Result.Faults;
                foreach (string p in Sim.BuiltIns)
                {
                    long other = Sim.Run(p, frames, pages, t).Result.Faults;
                    if (opt > other) Assert.Fail($"OPT {opt} > {p} {other} on trace {t} with {frames} frames");
                }
            }
        }
        Assert.That(Sim.Run("opt", 3, TestTraces.Uniform(1, 600, 25)).Result.Faults,
            Is.LessThan(Sim.Run("lru", 3, TestTraces.Uniform(1, 600, 25)).Result.Faults));
    }

    [Test]
    public void RandomIsDeterministicPerSeed()
    {
        ulong[] pages = TestTraces.Uniform(5, 2000, 50);
        var a = Sim.Run("random", 10, pages, seed: 42).Victims;
        var b = Sim.Run("random", 10, pages, seed: 42).Victims;
        var c = Sim.Run("random", 10, pages, seed: 43).Victims;
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a, Is.Not.EqualTo(c));
    }

    [Test]
    public void LinuxMatchesReferenceWithManyFrames()
    {
        // Large enough that inactive_is_low() batches of 32 matter (frames ≫ 32); compared to the reference.
        ulong[] pages = TestTraces.Zipf(99, 20000, 600, 0.9);
        var (faults, victims) = ReferenceCache.For("linux", 200, pages, 0).Replay(pages);
        var (r, v) = Sim.Run("linux", 200, pages);
        Assert.That(r.Faults, Is.EqualTo(faults));
        Assert.That(v, Is.EqualTo(victims));
    }
}
