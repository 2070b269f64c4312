using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

/// <summary>Runs the library's ideal simulator on a reference string and returns result and victims.</summary>
internal static class Sim
{
    public static (IdealResult Result, List<ulong> Victims) Run(string policy, int frames, IReadOnlyList<ulong> pages, ulong seed = 1)
    {
        var sim = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(seed))) { EvictionLog = [] };
        sim.Run(pages.ToArray());
        return (sim.Result, sim.EvictionLog!);
    }

    public static ulong[] Pages(params int[] p) => p.Select(x => (ulong)x).ToArray();

    public static readonly string[] BuiltIns = ["fifo", "lru", "clock", "clock-ref", "linux", "lfu", "arc", "arc-int", "opt", "random"];
}
