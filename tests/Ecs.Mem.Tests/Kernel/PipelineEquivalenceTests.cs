using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// The tick pipeline batches accesses for speed; the batch size must never change results. The same scenario
/// with one access per tick (the one-access-at-a-time reference) and with 4096 must agree on everything.
/// </summary>
public class PipelineEquivalenceTests
{
    private const ulong FileVa = Base + 0x40_0000, SharedVa = Base + 0x60_0000;

    /// <summary>A small fixed generator (64-bit LCG, high bits) so the traces do not depend on System.Random.</summary>
    private struct Lcg(ulong seed)
    {
        private ulong _x = seed;
        public int Next(int n)
        {
            _x = (_x * 6364136223846793005UL) + 1442695040888963407UL;
            return (int)((_x >> 33) % (ulong)n);
        }
    }

    private static MemoryAccess[] Mixed(ulong seed, int count, int anonPages, int filePages, ulong fileVa)
    {
        var r = new Lcg(seed);
        var t = new MemoryAccess[count];
        for (int i = 0; i < count; i++)
        {
            int kind = r.Next(10);
            if (kind < 2 && filePages > 0)
                t[i] = (kind == 0 && fileVa == SharedVa ? W(fileVa + ((ulong)r.Next(filePages) * Page)) : R(fileVa + ((ulong)r.Next(filePages) * Page)));
            else
            {
                // Mostly a hot quarter of the region, sometimes anywhere: reuse plus pressure.
                int page = r.Next(4) == 0 ? r.Next(anonPages) : r.Next(anonPages / 4);
                t[i] = kind < 6 ? R(Base + ((ulong)page * Page)) : W(Base + ((ulong)page * Page));
            }
        }
        return t;
    }

    internal static SimMachine Build(int batch, string policy = "fifo", ulong seed = 0, int swapPages = 512, long minFreeKbytes = 64, int cpus = 1)
    {
        var o = Options(ramPages: 160, swapPages: swapPages, minFreeKbytes: minFreeKbytes) with { BatchSize = batch, Quantum = 37, SwapClusterMax = 8, Policy = policy, Cpus = cpus };
        var m = new SimMachine(o);
        int f = m.Kernel.Files.Intern("/data/ro");
        int g = m.Kernel.Files.Intern("/data/shared");
        var p1 = m.AddProcess("p1", mm =>
        {
            Mmap(mm, Base, 200, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, FileVa, 16, Prot.Read, MapFlags.Private, f);
        }, Trace("p1", Mixed(seed + 1, 3000, 200, 16, FileVa)));
        var p2 = m.AddProcess("p2", mm =>
        {
            Mmap(mm, Base, 120, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, SharedVa, 8, Prot.Read | Prot.Write, MapFlags.Shared, g);
        }, Trace("p2", Mixed(seed + 2, 2500, 120, 8, SharedVa)), start: 50_000);
        m.ScheduleAfterAccesses(700, new AddressSpaceOp(AddressSpaceOpKind.Fork, p1)
        {
            ChildName = "p1-child",
            ChildWorkload = _ => Trace("p1-child", Mixed(seed + 3, 1500, 200, 16, FileVa)),
        });
        m.ScheduleAfterAccesses(900, new AddressSpaceOp(AddressSpaceOpKind.Munmap, p2) { Addr = Base + (100 * Page), Len = 20 * Page });
        // p2's trace touches the unmapped range again later: those accesses are SIGSEGV, the run goes on.
        m.ScheduleAfterAccesses(1500, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p1) { Addr = FileVa, Len = 16 * Page, Prot = Prot.None });
        return m;
    }

    [Test]
    public void BatchOfOneAndBatchOf4096GiveIdenticalResults()
    {
        using var one = Build(1);
        using var many = Build(4096);
        one.Run();
        many.Run();
        AssertSame(one, many);
        // The scenario really exercised the slow paths (so the comparison means something).
        Assert.That(Counter(one, "pswpout"), Is.GreaterThan(0));
        Assert.That(Counter(one, "pgmajfault"), Is.GreaterThan(0));
        Assert.That(Counter(one, "ecsmem_cow_copy"), Is.GreaterThan(0));
        Assert.That(Counter(one, "ecsmem_context_switches"), Is.GreaterThan(10));
        Assert.That(many.Env.Ticks, Is.LessThan(one.Env.Ticks), "the batched run needed fewer ticks");
    }

    [Test]
    public void DefaultScenarioIsTheSameWithBatchOne()
    {
        using var one = ScenarioLoader.Build(DefaultScenario.Load(), batchSizeOverride: 1);
        using var many = ScenarioLoader.Build(DefaultScenario.Load());
        one.Run();
        many.Run();
        AssertSame(one, many);
    }

    private static void AssertSame(SimMachine a, SimMachine b)
    {
        Assert.That(a.Finished && b.Finished, Is.True);
        var ca = a.Env.Counters.All().ToDictionary(kv => kv.Key, kv => kv.Value);
        var cb = b.Env.Counters.All().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (name, value) in ca)
            Assert.That(cb[name], Is.EqualTo(value), name);
        Assert.That(b.Env.Now, Is.EqualTo(a.Env.Now), "simulated time");
        Assert.That(b.Access.IdleCycles, Is.EqualTo(a.Access.IdleCycles));
        Assert.That(b.Kernel.Tasks.Processes, Has.Count.EqualTo(a.Kernel.Tasks.Processes.Count));
        for (int i = 0; i < a.Kernel.Tasks.Processes.Count; i++)
        {
            Assert.That(Proc(b, b.Kernel.Tasks.Processes[i]), Is.EqualTo(Proc(a, a.Kernel.Tasks.Processes[i])), $"process {i + 1}");
            Assert.That(Stats(b, b.Kernel.Tasks.Processes[i]), Is.EqualTo(Stats(a, a.Kernel.Tasks.Processes[i])), $"stats of process {i + 1}");
        }
        Assert.That(b.Kernel.Oom.Log, Is.EqualTo(a.Kernel.Oom.Log));
        Assert.That(b.Kernel.Tasks.KillLog, Is.EqualTo(a.Kernel.Tasks.KillLog));
        Assert.That(b.AddressSpace.Log, Is.EqualTo(a.AddressSpace.Log));
    }
}
