using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Smp;

/// <summary>
/// Threads (clone with CLONE_VM | CLONE_THREAD): tasks that share their process's mm. mm_users counts the live
/// tasks using the mm and the address space is torn down when the last one goes; mm_count is one reference for
/// all the users plus one per CPU that idles with the mm borrowed (lazy TLB). A fatal signal and a group
/// leader's exit end the whole thread group; a thread's own exit ends only that thread.
/// </summary>
public class ThreadTests
{
    private static ulong P(int i) => Base + ((ulong)i * Page);

    private static MemoryAccess[] Repeat(MemoryAccess a, int n) => Enumerable.Repeat(a, n).ToArray();

    /// <summary>
    /// A 4-CPU machine whose process (pid 1, on CPU 0) has a thread (pid 2, on CPU 1: see ShootdownCountTests for
    /// the placement). The leader writes pages 0 and 1, the thread pages 2 and 3 and then exits; the leader goes on
    /// reading page 0 20000 times (80000 cycles at least), far past the thread's exit.
    /// </summary>
    private static (SimMachine M, Entity Leader, Entity Thread) Build(int leaderReads = 20_000)
    {
        var m = new SimMachine(Options(ramPages: 1024) with { Cpus = 4 });
        Entity leader = m.AddProcess("leader", Anon(Base, 8), Trace("leader", [W(P(0)), W(P(1)), .. Repeat(R(P(0)), leaderReads)]), 0);
        Entity thread = m.AddThread(leader, "thread", Trace("thread", W(P(2)), W(P(3))), 0);
        return (m, leader, thread);
    }

    [Test]
    public void TheOwnersExitHandsTheMmToTheOldestLiveThreadAndTheLastExitToNone()
    {
        // mm_update_next_owner (kernel/exit.c): the leader (pid 1, mm->owner) ends its workload first, a pthread_exit
        // that ends only it; then thread t1 (pid 2), then t2 (pid 3). Threads are on no children list, so the owner
        // is found by the search of every thread, in creation order: the oldest thread still alive.
        using var m = new SimMachine(Options(ramPages: 1024) with { Cpus = 4 });
        Entity leader = m.AddProcess("leader", Anon(Base, 8), Trace("leader", W(P(0)), W(P(1))), 0);
        Entity t1 = m.AddThread(leader, "t1", Trace("t1", [W(P(2)), .. Repeat(R(P(2)), 2_000)]), 0);
        Entity t2 = m.AddThread(leader, "t2", Trace("t2", [W(P(3)), .. Repeat(R(P(3)), 20_000)]), 0);
        MmState mm = Mm(m, leader);
        Assert.That(mm.Owner, Is.EqualTo(leader), "mm->owner: the task made with the mm");

        RunUntil(m, () => Proc(m, leader).State == ProcessState.Exited);
        Assert.That(Proc(m, t1).State, Is.Not.EqualTo(ProcessState.Exited), "t1 reads 2,000 times after the leader's 2 accesses");
        Assert.That(mm.Owner, Is.EqualTo(t1), "the oldest live thread, not t2");

        RunUntil(m, () => Proc(m, t1).State == ProcessState.Exited);
        Assert.That(Proc(m, t2).State, Is.Not.EqualTo(ProcessState.Exited));
        Assert.That(mm.Owner, Is.EqualTo(t2), "t1 owned the mm, so its exit hands it on to the last user");

        m.RunChecked();
        Assert.That(mm.Mm.Struct.MmUsers, Is.Zero);
        Assert.That(mm.Owner.IsNull, Is.True, "the last user's exit leaves no owner (no pointer to a freed task)");
    }

    [Test]
    public void MmUsersCountsTheLiveThreadsAndTheLastOneTearsTheMmDown()
    {
        var (m, leader, thread) = Build();
        using var _ = m;
        MmState mm = Mm(m, leader);
        Assert.That(Mm(m, thread), Is.SameAs(mm), "the thread shares the leader's mm");
        Assert.That(Proc(m, thread).Tgid, Is.EqualTo(Proc(m, leader).Pid), "the thread is in the leader's thread group");
        // Before the run: the process's own user plus the thread's (mmget in clone); one mm_count for all users.
        Assert.That((mm.Mm.Struct.MmUsers, mm.Mm.Struct.MmCount), Is.EqualTo((2, 1)));

        RunUntil(m, () => Stats(m, leader).Accesses >= 2 && Stats(m, thread).Accesses >= 2);
        Assert.That(mm.Mm.Struct.MmUsers, Is.EqualTo(2), "both threads are alive");
        Assert.That(mm.Rss, Is.EqualTo(4UL), "two pages written by each thread");

        RunUntil(m, () => Proc(m, thread).State == ProcessState.Exited);
        Assert.That(Proc(m, leader).State, Is.Not.EqualTo(ProcessState.Exited));
        Assert.That(mm.Mm.Struct.MmUsers, Is.EqualTo(1), "one thread left");
        Assert.That(mm.Rss, Is.EqualTo(4UL), "the exited thread's pages stay: the mm still has a user");
        Assert.That(mm.Mm.Vmas.Count, Is.EqualTo(1));

        m.RunChecked();
        Assert.That(Proc(m, leader).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(mm.Mm.Struct.MmUsers, Is.EqualTo(0));
        Assert.That(mm.Rss, Is.EqualTo(0UL), "exit_mmap ran with the last user");
        Assert.That(mm.Mm.Vmas.Count, Is.EqualTo(0));
        Assert.That(mm.TablePages, Is.Empty, "page tables freed");
    }

    /// <summary>
    /// mm_count = (mm_users &gt; 0 ? 1 : 0) + CPUs idling with the mm borrowed. After the thread's exit CPU 1 has
    /// nothing to run (the leader keeps CPU 0, its previous CPU), so it idles lazily on the mm: 1 + 1 = 2. At the
    /// end both CPUs idle on it and nobody uses it: 0 + 2 = 2, although the address space itself is gone.
    /// </summary>
    [Test]
    public void MmCountIsOneForTheUsersPlusOnePerLazyCpu()
    {
        var (m, leader, thread) = Build();
        using var _ = m;
        MmState mm = Mm(m, leader);

        RunUntil(m, () => Proc(m, thread).State == ProcessState.Exited && m.Kernel.Smp[1].HoldsLazyMm);
        Assert.That(Stats(m, leader).Accesses, Is.LessThan(20_002), "the leader still runs");
        Assert.That(m.Kernel.Smp[1].ActiveMm, Is.SameAs(mm));
        Assert.That(m.Kernel.Smp[0].HoldsLazyMm, Is.False);
        Assert.That((mm.Mm.Struct.MmUsers, mm.Mm.Struct.MmCount), Is.EqualTo((1, 2)));
        // CPUs 2 and 3 never ran anything: they hold no mm.
        Assert.That(m.Kernel.Smp[2].ActiveMm, Is.Null);
        Assert.That(m.Kernel.Smp[3].ActiveMm, Is.Null);

        m.RunChecked();
        Assert.That(m.Kernel.Smp[0].HoldsLazyMm && m.Kernel.Smp[1].HoldsLazyMm, Is.True);
        Assert.That((mm.Mm.Struct.MmUsers, mm.Mm.Struct.MmCount), Is.EqualTo((0, 2)));
    }

    /// <summary>
    /// A SIGSEGV in the thread (a read 100 pages past the end of the 8-page VMA) kills every task of the group, the
    /// leader included, long before the end of the leader's 20000 reads (the thread dies after two faults, about
    /// 2000 cycles; the reads take at least 4 cycles each); the mm is torn down at once.
    /// </summary>
    [Test]
    public void SigsegvInOneThreadKillsTheWholeGroup()
    {
        var m = new SimMachine(Options(ramPages: 1024) with { Cpus = 4 });
        using var _ = m;
        Entity leader = m.AddProcess("leader", Anon(Base, 8), Trace("leader", [W(P(0)), .. Repeat(R(P(0)), 20_000)]), 0);
        Entity thread = m.AddThread(leader, "thread", Trace("thread", W(P(2)), R(P(100))), 0);
        // An unrelated process: it must not be touched.
        Entity other = m.AddProcess("other", Anon(Base, 1), Trace("other", W(P(0)), R(P(0))), 0);
        m.RunChecked();

        Assert.That((Proc(m, thread).State, Proc(m, thread).ExitSignal), Is.EqualTo((ProcessState.Killed, 11)));
        Assert.That((Proc(m, leader).State, Proc(m, leader).ExitSignal), Is.EqualTo((ProcessState.Killed, 11)));
        Assert.That(Stats(m, leader).Accesses, Is.LessThan(20_001), "the leader was killed before the end of its trace");
        Assert.That(Stats(m, thread).Accesses, Is.EqualTo(1), "the thread's write completed, its bad read did not");
        Assert.That(m.Kernel.Tasks.KillLog, Has.Count.EqualTo(1));
        Assert.That(m.Kernel.Tasks.KillLog[0], Does.StartWith("thread[2]: killed by signal 11"));
        MmState mm = Mm(m, leader);
        Assert.That((mm.Mm.Struct.MmUsers, mm.Rss), Is.EqualTo((0, 0UL)));
        Assert.That((Proc(m, other).State, Stats(m, other).Accesses), Is.EqualTo((ProcessState.Exited, 2L)));
    }

    /// <summary>
    /// A scenario file with <c>threads:</c> parses, builds and runs on 4 CPUs. Its timeline exits one thread of
    /// <c>app</c> (only it ends: the other two run their whole workloads) and the group leader of <c>svc</c>
    /// (exit_group: its thread ends at the same moment, before the end of its own workload).
    /// </summary>
    [Test]
    public void AScenarioWithThreadsRunsAndTimelineExitsEndAThreadOrTheGroup()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ecsmem-threads-{Environment.ProcessId}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            machine:
              ram: 4M
              swap: 4M
              cpus: 4
              quantum: 500
            processes:
              - name: app
                layout:
                  exec: {file: /bin/app, text: 16K, heap: 256K}
                workload:
                  generator: "loop:count=4000,pages=32,writes=0.5"
                threads:
                  - workload: {generator: "uniform:count=4000,pages=32,writes=0.5"}
                  - name: app.worker
                    workload: {generator: "loop:count=4000,pages=32,writes=0.5"}
              - name: svc
                layout:
                  exec: {file: /bin/svc, text: 16K, heap: 256K}
                workload:
                  generator: "loop:count=4000,pages=32,writes=0.5"
                threads:
                  - workload: {generator: "loop:count=4000,pages=32,writes=0.5"}
            timeline:
              - after: 1000
                process: app.worker
                exit:
              - after: 1000
                process: svc
                exit:
            """);
        try
        {
            Scenario s = ScenarioParser.ParseFile(path);
            Assert.That(s.Processes.Select(p => p.Threads.Count), Is.EqualTo(new[] { 2, 1 }));
            using var m = ScenarioLoader.Build(s);
            Assert.That(m.Kernel.Smp.Count, Is.EqualTo(4));
            m.RunChecked();
            Assert.That(m.Finished, Is.True);

            var k = m.Kernel;
            var byName = k.Tasks.Processes.ToDictionary(e => k.Tasks.ProcessName(k.World.Get<Process>(e)));
            // pids in creation order: app 1, its threads 2 and 3, svc 4, its thread 5 (default names: process-tN).
            Assert.That(byName.Keys, Is.EqualTo(new[] { "app", "app-t1", "app.worker", "svc", "svc-t1" }));
            Assert.That(byName.Values.Select(e => k.World.Get<Process>(e).Tgid), Is.EqualTo(new[] { 1, 1, 1, 4, 4 }));
            Process Task(string n) => k.World.Get<Process>(byName[n]);
            long Done(string n) => k.World.Get<ProcessStats>(byName[n]).Accesses;

            Assert.That(byName.Values.Select(e => k.World.Get<Process>(e).State), Has.All.EqualTo(ProcessState.Exited));
            // The thread's exit ended only it, at its 1000th access; its siblings ran all 4000 of theirs.
            Assert.That((Done("app.worker"), Done("app"), Done("app-t1")), Is.EqualTo((1000L, 4000L, 4000L)));
            // The leader's exit ended its group: svc at its 1000th access, svc-t1 at the same instant, not finished.
            Assert.That(Done("svc"), Is.EqualTo(1000));
            Assert.That(Done("svc-t1"), Is.LessThan(4000));
            Assert.That(Task("svc-t1").EndTime, Is.EqualTo(Task("svc").EndTime));
            Assert.That(Task("app.worker").EndTime, Is.LessThan(Task("app").EndTime));
            // In strace form the thread's exit is exit(0) (exit(2)), the leader's exit_group(0) (exit_group(2)).
            Assert.That(m.AddressSpace.Log.Count(l => l.Contains(" exit(0)", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(m.AddressSpace.Log.Count(l => l.Contains(" exit_group(0)", StringComparison.Ordinal)), Is.EqualTo(1));
            foreach (MmState mm in k.Tasks.LiveMms)
                Assert.That((mm.Mm.Struct.MmUsers, mm.Rss), Is.EqualTo((0, 0UL)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string SeededThread = """
        processes:
          - name: p
            layout:
              exec: {file: /bin/p, text: 16K, heap: 64K}
            workload: {generator: "uniform:count=10,pages=4,seed=1"}
            threads:
              - workload: {generator: "uniform:count=10,pages=4,seed=SEED"}
        """;

    /// <summary>
    /// A thread's generator gets its own seed mixed from the one written (as a fork child's does). The seed is read
    /// as the generator reads it, decimal or 0x hex: a hex seed works, and a seed no generator accepts is an input
    /// error naming the file and line, not a crash of the mixing (it threw FormatException / OverflowException).
    /// </summary>
    [TestCase("16", true)]
    [TestCase("0x10", true)]
    [TestCase("99999999999999999999", false)]
    [TestCase("12ab", false)]
    public void AThreadsGeneratorSeedIsReadAsTheGeneratorReadsIt(string seed, bool valid)
    {
        Scenario s = Reliability.ReliabilityScenarios.Parse(SeededThread.Replace("SEED", seed, StringComparison.Ordinal), "seeded.yaml");
        if (!valid)
        {
            var e = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ScenarioLoader.Build(s).Dispose());
            Assert.That(e!.Message, Does.Contain("seeded.yaml:7"));
            return;
        }
        using var m = ScenarioLoader.Build(s);
        m.RunChecked();
        Assert.That(m.CompletedAccesses(), Is.EqualTo(20));
    }
}
