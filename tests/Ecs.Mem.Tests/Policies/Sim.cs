using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using NUnit.Framework;

namespace EcsMem.Tests.Policies;

/// <summary>Runs the library's ideal simulator on a reference string and returns result and victims.</summary>
internal static class Sim
{
    /// <remarks>
    /// The victims come from a run with <see cref="IdealSimulator.EvictionLog"/> set, which takes the replay's
    /// per-reference step; the same string is also replayed without it, through the replay's call-free loop, which
    /// must give the same counts and leave every page in the same frame (checked here, so every hand-worked
    /// policy test holds both paths).
    /// </remarks>
    public static (IdealResult Result, List<ulong> Victims) Run(string policy, int frames, IReadOnlyList<ulong> pages, ulong seed = 1)
    {
        var sim = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(seed))) { EvictionLog = [] };
        sim.Run(pages.ToArray());
        var fast = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(seed)));
        fast.Run(pages.ToArray());
        Assert.That(fast.Result, Is.EqualTo(sim.Result), "the loop without an eviction log");
        foreach (ulong page in pages.Distinct())
            Assert.That(fast.FrameOf(page), Is.EqualTo(sim.FrameOf(page)), $"page {page}'s frame without an eviction log");
        return (sim.Result, sim.EvictionLog!);
    }

    public static ulong[] Pages(params int[] p) => p.Select(x => (ulong)x).ToArray();

    public static readonly string[] BuiltIns = ["fifo", "lru", "clock", "clock-ref", "linux", "lfu", "arc", "arc-int", "opt", "random"];
}
