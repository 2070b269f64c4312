using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Tests.Ecs;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Random raw traces (fetches, loads, stores and modifies over code, data, heap and stack pages) through the
/// whole machine with an inferred layout, under memory pressure. An inferred layout widens instead of
/// faulting, so every run must end with every access done, and the invariants must hold after every tick.
/// It found a page read before it was fetched faulting for ever.
/// </summary>
public class InferredTraceFuzzTests
{
    private const int Accesses = 160;
    private const long MaxTicks = 200_000;

    // Pages near each other in the same 2 MiB block, and in blocks of their own.
    private static readonly ulong[] Regions = [0x0040_0000, 0x0040_8000, 0x0060_0000, 0x5555_5555_4000, 0x7ffd_ff00_0000];

    private static MemoryAccess[] RandomTrace(ref TestRng rng)
    {
        var trace = new MemoryAccess[Accesses];
        for (int i = 0; i < trace.Length; i++)
        {
            ulong page = Regions[rng.Below(Regions.Length)] + ((ulong)rng.Below(6) * Page);
            ulong va = page + (ulong)(rng.Below(512) * 8);
            var kind = (AccessKind)rng.Below(4);
            trace[i] = new MemoryAccess(va, 0, (ushort)(kind == AccessKind.Instr ? 4 : 8), kind);
        }
        return trace;
    }

    [Test]
    public void EveryRandomRawTraceRunsToItsEnd([Range(0, 59)] int seed, [Values(1, 2, 4)] int cpus)
    {
        var rng = new TestRng((ulong)seed * 7919 + 1);
        // Small RAM so reclaim and swap take part; batch sizes vary (results must not depend on them).
        var options = Options(ramPages: 96 + rng.Below(64), swapPages: 256) with { BatchSize = 1 + rng.Below(3) * 31, Cpus = cpus };
        using var m = new EcsMem.Systems.Machine.Machine(options);
        var procs = new List<Entity>();
        for (int p = 0; p < 2; p++)
        {
            var trace = RandomTrace(ref rng);
            procs.Add(m.AddProcess($"p{p}", mm => mm.Inferred = new InferredLayout(mm.Mm), Trace($"p{p}", trace), (ulong)(p * 40)));
        }

        long budget = MaxTicks;
        long ticks = m.RunChecked(stop: () => --budget <= 0);
        Assert.That(m.Finished, Is.True, $"seed {seed}: still running after {ticks} ticks");
        foreach (Entity p in procs)
        {
            Assert.That(Proc(m, p).State, Is.EqualTo(ProcessState.Exited), $"seed {seed}: {string.Join("; ", m.Kernel.Tasks.KillLog)}");
            Assert.That(Stats(m, p).Accesses, Is.EqualTo(Accesses), $"seed {seed}");
        }
    }
}
