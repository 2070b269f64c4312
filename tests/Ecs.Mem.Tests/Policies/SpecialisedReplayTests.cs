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
    public void TheLoopWithoutAnEvictionLogLeavesEveryPageWhereTheStepsDo(
        [ValueSource(typeof(Sim), nameof(Sim.BuiltIns))] string policy, [Values(1, 7, 150, 1000, 2999, 4000)] int frames)
    {
        // Without an eviction log the replay runs its call-free loop over pages the map knows, stops for each first
        // reference and for the last few references of a slice, and switches loops when the last free frame is
        // taken. Slices of 1 to 1,001 references hit all of these at every offset; after each one the counts and
        // every page's frame must be those of one Reference call per page (the policy through its interface).
        ulong[] pages = Trace();
        ulong[] distinct = pages.Distinct().ToArray();
        var fast = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(3)));
        var steps = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(3)));
        if (fast.Policy is IFutureAwarePolicy)
        {
            // OPT needs the whole string in one call: compare the end of one run with the logged run's.
            steps.EvictionLog = [];
            fast.Run(pages);
            steps.Run(pages);
            Assert.That(fast.Result, Is.EqualTo(steps.Result));
            Assert.That(distinct.Select(fast.FrameOf), Is.EqualTo(distinct.Select(steps.FrameOf)));
            return;
        }
        int i = 0, slices = 0;
        for (int step = 1; i < pages.Length; step = step * 7 % 1001 + 1, slices++)
        {
            int n = Math.Min(step, pages.Length - i);
            fast.Run(pages.AsSpan(i, n));
            for (int k = 0; k < n; k++) steps.Reference(pages[i + k]);
            i += n;
            Assert.That(fast.Result, Is.EqualTo(steps.Result), $"after {i} references");
            if (slices % 8 == 0 || i == pages.Length)
                Assert.That(distinct.Select(fast.FrameOf), Is.EqualTo(distinct.Select(steps.FrameOf)), $"after {i} references");
        }
        Assert.That(fast.Result.References, Is.EqualTo(pages.Length));
    }

    /// <summary>
    /// LRU through its interface for the first victim, then frame <c>frames</c> (one past the last): a bug in a
    /// custom policy, which the replay must report however the fault reached the policy.
    /// </summary>
    private sealed class BadSecondVictim : IReplacementPolicy
    {
        private readonly LruPolicy _lru = new();
        private int _frames, _victims;
        public string Name => "bad-victim";
        public void Initialize(int frameCount) { _frames = frameCount; _lru.Initialize(frameCount); }
        public void OnMiss(ulong page) => _lru.OnMiss(page);
        public void OnInserted(int frame, ulong page) => _lru.OnInserted(frame, page);
        public void OnReferenced(int frame) => _lru.OnReferenced(frame);
        public int ChooseVictim(ReadOnlySpan<bool> unevictable) => ++_victims == 1 ? _lru.ChooseVictim(unevictable) : _frames;
        public void OnRemoved(int frame) => _lru.OnRemoved(frame);
    }

    [Test]
    public void AVictimOutsideTheFramesEndsTheRunWithOneMessage([Values(false, true)] bool evictionLog)
    {
        // Four frames fill with pages 1-4; page 5 (a first reference) evicts page 1; page 1 again is a fault on a
        // page the map knows, so without an eviction log it is the call-free loop that asks for the second victim
        // (the ten 5s keep it out of the last few references, which take the per-reference step).
        ulong[] pages = [1, 2, 3, 4, 5, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5];
        var sim = new IdealSimulator(4, new BadSecondVictim()) { EvictionLog = evictionLog ? [] : null };
        Assert.That(() => sim.Run(pages), Throws.InvalidOperationException.With.Message
            .EqualTo("policy 'bad-victim' chose frame 4, not one of the 4 frames"));
        Assert.That(sim.Result, Is.EqualTo(new IdealSimulator(4, new BadSecondVictim()).Result), "a batch that throws is not counted");
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
