using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using NUnit.Framework;

namespace EcsMem.Tests.Policies;

/// <summary>
/// Forwards every hook to a built-in policy through <see cref="IReplacementPolicy"/>. Its type is not a built-in
/// one, so <see cref="IdealSimulator"/> replays it on the interface path (the custom policies' path) instead of
/// the loop specialised for the built-in's hooks struct.
/// </summary>
internal class InterfaceOnly(IReplacementPolicy inner) : IReplacementPolicy
{
    public static IReplacementPolicy Wrap(IReplacementPolicy inner) =>
        inner is IFutureAwarePolicy future ? new FutureAware(future) : new InterfaceOnly(inner);

    public string Name => inner.Name;
    public void Initialize(int frameCount) => inner.Initialize(frameCount);
    public void OnMiss(ulong page) => inner.OnMiss(page);
    public void OnInserted(int frame, ulong page) => inner.OnInserted(frame, page);
    public void OnReferenced(int frame) => inner.OnReferenced(frame);
    public int ChooseVictim(ReadOnlySpan<bool> unevictable) => inner.ChooseVictim(unevictable);
    public void OnRemoved(int frame) => inner.OnRemoved(frame);

    /// <summary>The same for an offline policy (OPT), which must be given the reference string first.</summary>
    private sealed class FutureAware(IFutureAwarePolicy inner) : InterfaceOnly(inner), IFutureAwarePolicy
    {
        public void SetFuture(ReadOnlySpan<ulong> pages) => inner.SetFuture(pages);
    }
}

/// <summary>
/// The replay loop specialised per built-in policy (struct hooks, issue 19 item 3) against two other ways of
/// driving the same policy: the interface path, and one <see cref="IdealSimulator.Reference"/> call per page.
/// Counts and every victim must agree, for every built-in, at frame counts below, near and above the footprint.
/// </summary>
public class SpecialisedReplayTests
{
    /// <summary>60,000 references over 3,000 pages: a hot set of 200 pages half the time, the rest uniform.</summary>
    private static ulong[] Trace()
    {
        var rng = new TestRng(19);
        var pages = new ulong[60_000];
        for (int i = 0; i < pages.Length; i++)
            pages[i] = 0x4000 + (rng.Next() % 2 == 0 ? rng.Next() % 200 : rng.Next() % 3000) * 7;
        return pages;
    }

    private static (IdealResult, List<ulong>) Replay(IReplacementPolicy policy, int frames, ulong[] pages, bool perReference)
    {
        var sim = new IdealSimulator(frames, policy) { EvictionLog = [] };
        if (perReference && policy is not IFutureAwarePolicy)
        {
            foreach (ulong p in pages) sim.Reference(p);
        }
        else
        {
            sim.Run(pages);
        }
        return (sim.Result, sim.EvictionLog!);
    }

    [Test]
    public void EveryBuiltInGivesTheSameCountsAndVictimsOnEveryPath(
        [ValueSource(typeof(Sim), nameof(Sim.BuiltIns))] string policy, [Values(1, 150, 1000, 2999, 4000)] int frames)
    {
        ulong[] pages = Trace();
        var (special, specialVictims) = Replay(PolicyRegistry.Create(policy, new PolicyOptions(7)), frames, pages, false);
        var (viaInterface, interfaceVictims) = Replay(InterfaceOnly.Wrap(PolicyRegistry.Create(policy, new PolicyOptions(7))), frames, pages, false);
        var (perReference, perReferenceVictims) = Replay(PolicyRegistry.Create(policy, new PolicyOptions(7)), frames, pages, true);
        Assert.That(special, Is.EqualTo(viaInterface));
        Assert.That(special, Is.EqualTo(perReference));
        Assert.That(specialVictims, Is.EqualTo(interfaceVictims));
        Assert.That(specialVictims, Is.EqualTo(perReferenceVictims));
        // The counts add up by definition, whichever loop made them.
        Assert.That(special.Hits + special.Faults, Is.EqualTo(pages.Length));
        Assert.That(special.ColdFaults, Is.EqualTo(pages.Distinct().Count()));
        Assert.That(special.Evictions, Is.EqualTo(specialVictims.Count));
    }

    [Test]
    public void BatchesAndSingleReferencesMixedKeepOneSetOfCounts([Values("lru", "fifo", "clock", "arc")] string policy)
    {
        // The specialised loop keeps its counts in locals for a batch; mixing it with Reference calls and with
        // many small batches must give the counts of one whole run.
        ulong[] pages = Trace();
        var whole = new IdealSimulator(500, PolicyRegistry.Create(policy, new PolicyOptions(1)));
        whole.Run(pages);
        var mixed = new IdealSimulator(500, PolicyRegistry.Create(policy, new PolicyOptions(1)));
        int i = 0;
        for (int step = 1; i < pages.Length; step = step * 3 % 1001 + 1)
        {
            int n = Math.Min(step, pages.Length - i);
            if (step % 2 == 0)
            {
                mixed.Run(pages.AsSpan(i, n));
            }
            else
            {
                for (int k = 0; k < n; k++) mixed.Reference(pages[i + k]);
            }
            i += n;
        }
        Assert.That(mixed.Result, Is.EqualTo(whole.Result));
    }

    [Test]
    public void LruAndFifoRefuseAFrameOutsideTheirFrames()
    {
        // Their lists skip bounds checks inside, so the public hooks check the frame once at the boundary.
        foreach (IReplacementPolicy p in new IReplacementPolicy[] { new LruPolicy(), new FifoPolicy() })
        {
            p.Initialize(4);
            Assert.Throws<ArgumentOutOfRangeException>(() => p.OnInserted(4, 1));
            if (p is LruPolicy) // FIFO ignores hits altogether
                Assert.Throws<ArgumentOutOfRangeException>(() => p.OnReferenced(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => p.OnRemoved(int.MaxValue));
        }
    }
}
