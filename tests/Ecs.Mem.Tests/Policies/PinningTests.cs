using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

/// <summary>The "not evictable right now" contract of ChooseVictim, for every built-in policy.</summary>
public class PinningTests
{
    [TestCaseSource(typeof(Sim), nameof(Sim.BuiltIns))]
    public void PinnedFramesAreNeverChosen(string name)
    {
        const int frames = 8;
        var pages = TestTraces.Uniform(11, 400, 20);
        var policy = PolicyRegistry.Create(name, new PolicyOptions(5));
        policy.Initialize(frames);
        if (policy is IFutureAwarePolicy f) f.SetFuture(pages);
        // A tiny frame table driven by hand, pinning a rotating subset at each eviction.
        var framePage = new ulong[frames];
        var resident = new Dictionary<ulong, int>();
        var pinned = new bool[frames];
        int used = 0;
        var rng = new TestRng(9);
        foreach (ulong page in pages)
        {
            if (resident.TryGetValue(page, out int hitFrame))
            {
                policy.OnReferenced(hitFrame);
                continue;
            }
            policy.OnMiss(page);
            int frame;
            if (used < frames)
            {
                frame = used++;
            }
            else
            {
                for (int i = 0; i < frames; i++) pinned[i] = rng.Below(3) != 0; // about two thirds pinned
                pinned[rng.Below(frames)] = false;                               // at least one evictable
                frame = policy.ChooseVictim(pinned);
                Assert.That(frame, Is.InRange(0, frames - 1));
                Assert.That(pinned[frame], Is.False, $"{name} chose pinned frame {frame}");
                policy.OnRemoved(frame);
                resident.Remove(framePage[frame]);
            }
            framePage[frame] = page;
            resident[page] = frame;
            policy.OnInserted(frame, page);
        }
        Array.Fill(pinned, true);
        Assert.That(policy.ChooseVictim(pinned), Is.EqualTo(-1), "all pinned");
    }

    [TestCaseSource(typeof(Sim), nameof(Sim.BuiltIns))]
    public void ChooseVictimsIsolatesDistinctFrames(string name)
    {
        var policy = PolicyRegistry.Create(name, new PolicyOptions(5));
        policy.Initialize(6);
        if (policy is IFutureAwarePolicy f) f.SetFuture(Sim.Pages(10, 11, 12, 13, 14, 15));
        for (int i = 0; i < 6; i++)
        {
            policy.OnMiss((ulong)(10 + i));
            policy.OnInserted(i, (ulong)(10 + i));
        }
        var victims = new int[4];
        int n = policy.ChooseVictims(victims, ReadOnlySpan<bool>.Empty);
        Assert.That(n, Is.EqualTo(4));
        Assert.That(victims.Distinct().Count(), Is.EqualTo(4));
        var rest = new int[6];
        Assert.That(policy.ChooseVictims(rest, ReadOnlySpan<bool>.Empty), Is.EqualTo(2));
        Assert.That(victims.Concat(rest.Take(2)).OrderBy(x => x), Is.EqualTo(Enumerable.Range(0, 6)));
    }
}
