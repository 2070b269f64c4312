using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Smp;

/// <summary>
/// The checker's per-CPU part must fail on broken state: a 4-CPU machine runs two threads of one process part
/// way, to a point where the leader (pid 1, task index 0) runs on CPU 0, the thread (pid 2) has exited and CPU 1
/// idles with the mm borrowed (lazy TLB), and CPUs 2 and 3 never ran anything. One piece of per-CPU bookkeeping is
/// then broken by hand and the exact violations, worked out from that state, are expected.
/// </summary>
public class CpuCorruptionTests
{
    private SimMachine _m = null!;
    private Entity _leader;
    private MmState _mm = null!;

    private static ulong P(int i) => Base + ((ulong)i * Page);

    [SetUp]
    public void RunPartWay()
    {
        _m = new SimMachine(Options(ramPages: 1024) with { Cpus = 4 });
        _leader = _m.AddProcess("leader", Anon(Base, 4), Trace("leader", [W(P(0)), .. Enumerable.Repeat(R(P(0)), 20_000)]), 0);
        Entity thread = _m.AddThread(_leader, "thread", Trace("thread", W(P(1))), 0);
        _mm = Mm(_m, _leader);
        var smp = _m.Kernel.Smp;
        RunUntil(_m, () => Proc(_m, thread).State == ProcessState.Exited && smp[1].HoldsLazyMm
                           && Proc(_m, _leader).State == ProcessState.Runnable && Stats(_m, _leader).Accesses > 100);
        Assert.That(_m.Finished, Is.False);
        Assert.That((smp[0].Task, smp[1].Task, smp[2].Task, smp[3].Task), Is.EqualTo((0, -1, -1, -1)));
        Assert.That((_mm.Mm.Struct.MmUsers, _mm.Mm.Struct.MmCount), Is.EqualTo((1, 2)));
        Assert.That(InvariantChecker.Check(_m), Is.Empty, "the state is consistent before the corruption");
    }

    [TearDown]
    public void Dispose() => _m.Dispose();

    [Test]
    public void MmCountOffByOne()
    {
        // One lazy CPU (CPU 1) and one user: 1 + 1 = 2 expected, 3 found.
        _mm.Mm.Struct.MmCount++;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"mm {_mm.Id}: mm_count 3, expected 2 (users 1, lazy CPUs 1)" }));
    }

    [Test]
    public void LazyReferenceDroppedWithoutMmCount()
    {
        // CPU 1 forgets its lazy reference but mm_count keeps it: now 1 + 0 = 1 expected, 2 found.
        _m.Kernel.Smp[1].HoldsLazyMm = false;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"mm {_mm.Id}: mm_count 2, expected 1 (users 1, lazy CPUs 0)" }));
    }

    [Test]
    public void OneTaskOnTwoCpus()
    {
        // CPU 2, which never ran anything (no active mm, nothing loaded in its TLB), also claims the leader. The
        // pair is reported once, from the lower CPU; CPU 2 then runs a runnable task whose mm it has neither as
        // its active mm nor loaded.
        _m.Kernel.Smp[2].Task = 0;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            "cpu 0 and cpu 2 both run task index 0",
            $"cpu 2: runs pid 1 but its active mm is not that task's mm {_mm.Id}",
            "cpu 2: runs pid 1 but its TLB has another mm loaded",
        }));
    }

    [Test]
    public void OneTaskOnTwoCpusOneOfThemLazy()
    {
        // CPU 1 idles lazily on the leader's own mm: its active mm and loaded mm are right, but it is lazy.
        _m.Kernel.Smp[1].Task = 0;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[]
        {
            "cpu 0 and cpu 1 both run task index 0",
            "cpu 1: runs pid 1 but is in lazy TLB mode",
            "cpu 1: is lazy but runs task index 0",
        }));
    }

    [Test]
    public void LoadedMmMissingFromItsCpumask()
    {
        // CPU 1 (lazy) still has the mm loaded; clearing its bit hides it from every later shootdown.
        Assert.That(_mm.Tlb.CpuMask, Is.EqualTo(0b11UL));
        _mm.Tlb.CpuMask &= ~(1UL << 1);
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"cpu 1: has {_mm.Tlb} loaded but is not in its mm_cpumask" }));
    }

    [Test]
    public void RunningCpuMissingFromItsCpumask()
    {
        _mm.Tlb.CpuMask &= ~1UL;
        Assert.That(InvariantChecker.Check(_m), Is.EqualTo(new[] { $"cpu 0: has {_mm.Tlb} loaded but is not in its mm_cpumask" }));
    }
}
