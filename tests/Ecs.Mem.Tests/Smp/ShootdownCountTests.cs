using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Timing;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Smp;

/// <summary>
/// TLB shootdowns between two threads of one process on a 4-CPU machine, counted by hand.
/// <para>
/// Placement (AccessStage's scheduler): all four CPUs start at time 0 and the lowest-numbered CPU with the earliest
/// time picks first, so CPU 0 takes the first runnable task in pid order, the leader (pid 1). Taking it costs CPU 0
/// a context switch, so CPU 1, still at time 0, is now the earliest: it takes the next runnable task nobody runs,
/// the thread (pid 2). CPUs 2 and 3 find nothing and never load the mm: its mm_cpumask is {0, 1}. Later quanta
/// keep each task where it is (a task goes back to its previous CPU when that CPU is free; the other task is
/// always running elsewhere).
/// </para>
/// <para>
/// Flushes: a read fault on an anonymous page maps the shared zero page read-only and flushes nothing (a PTE
/// going from none to present needs no flush). A write to a zero-page PTE is a COW break (do_wp_page copies into
/// a new page) whose install calls flush_tlb_page on the writer's CPU: one generation of the mm's tlb_gen, a
/// single-page local flush on CPU 0 (nr_tlb_local_flush_one + 1), and, since CPU 1 is in the mask,
/// nr_tlb_remote_flush + 1; CPU 1 gets an IPI (nr_tlb_remote_flush_received + 1) only if it has the mm loaded and is
/// not lazy. The cpumask is not trimmed in these runs: a trim happens at most once a second (3·10⁹ cycles at
/// 3 GHz) after the mm was created, and the runs are far shorter (asserted).
/// </para>
/// </summary>
public class ShootdownCountTests
{
    private const int Pages = 4;

    private static ulong P(int i) => Base + ((ulong)i * Page);

    /// <summary>A 4-CPU machine with 4 MiB of RAM (nothing is ever reclaimed) and one anonymous VMA of four pages.</summary>
    private static (SimMachine M, Entity Writer, Entity Reader) Build(MemoryAccess[] writer, MemoryAccess[] reader)
    {
        var m = new SimMachine(Options(ramPages: 1024) with { Cpus = 4 });
        Entity w = m.AddProcess("writer", Anon(Base, Pages), Trace("writer", writer), 0);
        Entity r = m.AddThread(w, "reader", Trace("reader", reader), 0);
        return (m, w, r);
    }

    private static MemoryAccess[] Repeat(MemoryAccess a, int n) => Enumerable.Repeat(a, n).ToArray();

    private static long Shootdown(SimMachine m) => m.Kernel.Cycles[CycleCategory.Shootdown];

    private static void AssertPlacement(SimMachine m, Entity writer, Entity reader)
    {
        Assert.That(Proc(m, writer).LastCpu, Is.EqualTo(0), "the leader runs on CPU 0");
        Assert.That(Proc(m, reader).LastCpu, Is.EqualTo(1), "the thread runs on CPU 1");
        Assert.That(Mm(m, writer).Tlb.CpuMask, Is.EqualTo(0b11UL), "only CPUs 0 and 1 ever loaded the mm");
        Assert.That(m.Env.Now, Is.LessThan(3_000_000_000UL), "less than a second: the cpumask is never trimmed");
    }

    private static void AssertFlushes(SimMachine m, long remote, long received, long localOne, long shootdownCycles, string when)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Counter(m, "nr_tlb_remote_flush"), Is.EqualTo(remote), when + ": nr_tlb_remote_flush");
            Assert.That(Counter(m, "nr_tlb_remote_flush_received"), Is.EqualTo(received), when + ": nr_tlb_remote_flush_received");
            Assert.That(Counter(m, "nr_tlb_local_flush_one"), Is.EqualTo(localOne), when + ": nr_tlb_local_flush_one");
            Assert.That(Counter(m, "nr_tlb_local_flush_all"), Is.EqualTo(0), when + ": nr_tlb_local_flush_all");
            Assert.That(Shootdown(m), Is.EqualTo(shootdownCycles), when + ": shootdown cycles");
        });
    }

    /// <summary>
    /// Both threads read pages 0–2 (zero page, no flush); then the leader writes them while the thread keeps
    /// running on CPU 1 (20000 more reads of page 3, far longer than the leader's three write faults). Each write is
    /// one flush_tlb_page that reaches CPU 1: 3 × nr_tlb_remote_flush, 3 × nr_tlb_remote_flush_received,
    /// 3 × nr_tlb_local_flush_one. Cycles: the initiator waits TlbShootdownCycles once per shootdown that sent an
    /// IPI, and CPU 1 pays TlbFlushOneCycles for its one page (or for one full flush, should it have fallen behind):
    /// 3 × (TlbShootdownCycles + TlbFlushOneCycles).
    /// </summary>
    [Test]
    public void WritesToSharedZeroPagesShootDownTheOtherThreadsCpu()
    {
        MemoryAccess[] writer = [R(P(0)), R(P(1)), R(P(2)), W(P(0)), W(P(1)), W(P(2))];
        MemoryAccess[] reader = [R(P(0)), R(P(1)), R(P(2)), .. Repeat(R(P(3)), 20_000)];
        var (m, w, r) = Build(writer, reader);
        using var _ = m;
        TimingModel t = m.Kernel.Timing;

        RunUntilAccesses(m, w, 3);
        AssertFlushes(m, 0, 0, 0, 0, "after the reads");

        RunUntilAccesses(m, w, 6);
        Assert.That(Stats(m, w).CowCopies, Is.EqualTo(3), "each write broke COW on the zero page");
        // The thread is still running the mm on CPU 1 (not lazy), so every shootdown had a target.
        Assert.That(Proc(m, r).State, Is.Not.EqualTo(ProcessState.Exited));
        Assert.That(m.Kernel.Smp[1].Task, Is.EqualTo(SmpKit.TaskIndex(m, r)));
        Assert.That(m.Kernel.Tlb.Cpu(1).IsLazy, Is.False);
        AssertPlacement(m, w, r);
        AssertFlushes(m, remote: 3, received: 3, localOne: 3,
            shootdownCycles: 3 * (t.TlbShootdownCycles + t.TlbFlushOneCycles), "after the writes");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>
    /// The same writes after the thread has exited: CPU 1 idles with the mm borrowed (lazy TLB), still in the
    /// mm_cpumask. should_flush_tlb skips a lazy CPU when no page table was freed, so no IPI is sent and nobody
    /// waits: nr_tlb_remote_flush still counts each of the 3 calls (native_flush_tlb_multi counts before it looks
    /// at the CPUs), nr_tlb_remote_flush_received and the shootdown cycles stay 0. The leader reads page 3 20000
    /// times between its reads and its writes, so the thread's three faults are long over (asserted).
    /// </summary>
    [Test]
    public void AnIdleLazyCpuGetsNoIpiButTheRemoteFlushIsCounted()
    {
        MemoryAccess[] writer = [R(P(0)), R(P(1)), R(P(2)), .. Repeat(R(P(3)), 20_000), W(P(0)), W(P(1)), W(P(2))];
        MemoryAccess[] reader = [R(P(0)), R(P(1)), R(P(2))];
        var (m, w, r) = Build(writer, reader);
        using var _ = m;

        RunUntilAccesses(m, w, 20_003);
        Assert.That(Proc(m, r).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(m.Kernel.Smp[1].Task, Is.EqualTo(-1));
        Assert.That(m.Kernel.Tlb.Cpu(1).IsLazy, Is.True, "CPU 1 idles in lazy TLB mode");
        Assert.That(m.Kernel.Tlb.Cpu(1).LoadedMm, Is.SameAs(Mm(m, w).Tlb));
        AssertFlushes(m, 0, 0, 0, 0, "before the writes");

        RunUntilAccesses(m, w, 20_006);
        Assert.That(Stats(m, w).CowCopies, Is.EqualTo(3));
        Assert.That(m.Kernel.Tlb.Cpu(1).IsLazy, Is.True, "CPU 1 stayed lazy");
        AssertPlacement(m, w, r);
        AssertFlushes(m, remote: 3, received: 0, localOne: 3, shootdownCycles: 0, "after the writes");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
