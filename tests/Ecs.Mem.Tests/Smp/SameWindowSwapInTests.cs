using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Smp;

/// <summary>
/// Two threads of one process fault on the same swapped-out page within one fault window: the fault handler sees
/// both faults in one batch, and both find the swap entry missing from the swap cache. In Linux the second
/// swap-in finds the entry taken (swapcache_prepare returns -EEXIST) and retries, then waits on the first one's
/// locked page; nothing else happens. The simulator must likewise let both threads finish.
/// </summary>
public class SameWindowSwapInTests
{
    /// <summary>
    /// Two threads with the same trace on two CPUs run in step: each writes 96 pages into 64 frames of RAM (FIFO:
    /// the first pages written are swapped out), then reads them all back, so both threads fault on the same swapped
    /// pages at nearly the same time, many of them within one fault window.
    /// </summary>
    [Test]
    public void TwoThreadsSwappingInTheSamePageInOneFaultWindowBothFinish()
    {
        const int pages = 96;
        var trace = new List<MemoryAccess>();
        for (int i = 0; i < pages; i++) trace.Add(W(Base + ((ulong)i * Page)));
        for (int i = 0; i < pages; i++) trace.Add(R(Base + ((ulong)i * Page)));
        using var m = new SimMachine(Options(ramPages: 64, swapPages: 512) with { Cpus = 2 });
        Entity leader = m.AddProcess("a", Anon(Base, pages), Trace("a", [.. trace]), 0);
        Entity thread = m.AddThread(leader, "b", Trace("b", [.. trace]), 0);

        m.RunChecked();

        Assert.That(Counter(m, "pswpin"), Is.GreaterThan(0), "pages were swapped back in");
        Assert.That((Proc(m, leader).State, Stats(m, leader).Accesses), Is.EqualTo((ProcessState.Exited, 2L * pages)));
        Assert.That((Proc(m, thread).State, Stats(m, thread).Accesses), Is.EqualTo((ProcessState.Exited, 2L * pages)));
    }

    /// <summary>
    /// The page-cache side of the same race: two threads start together on two CPUs and read the same page of a file
    /// nobody has read yet. CPU 0's read faults first; CPU 1 reaches the same access within that fault's window
    /// (a minor-fault cost later at most), so both page-cache misses reach the fault handler in one batch. Linux's
    /// second add_to_page_cache fails with -EEXIST and that fault waits on the first one's locked page.
    /// </summary>
    [Test]
    public void TwoThreadsReadingTheSameUncachedFilePageInOneFaultWindowBothFinish()
    {
        using var m = new SimMachine(Options(ramPages: 1024) with { Cpus = 2 });
        int file = m.Kernel.Files.Intern("/data/f");
        Entity leader = m.AddProcess("a", mm => Mmap(mm, Base, 1, Prot.Read, MapFlags.Private, file), Trace("a", R(Base)), 0);
        Entity thread = m.AddThread(leader, "b", Trace("b", R(Base)), 0);

        m.RunChecked();

        Assert.That(m.Kernel.PageCache.Count, Is.EqualTo(1), "one page of the file is cached, once");
        Assert.That((Proc(m, leader).State, Stats(m, leader).Accesses), Is.EqualTo((ProcessState.Exited, 1L)));
        Assert.That((Proc(m, thread).State, Stats(m, thread).Accesses), Is.EqualTo((ProcessState.Exited, 1L)));
    }
}
