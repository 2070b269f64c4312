using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Systems.Events;
using EcsMem.Traces;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Memcontrol;

/// <summary>
/// A page table's memcg charge (pte_alloc → __pte_alloc → pte_alloc_one → pagetable_alloc(GFP_PGTABLE_USER), whose
/// __GFP_ACCOUNT charges try_charge_memcg) is a value the allocation returns (<see cref="PageTable.PteAlloc"/>): the
/// caller, who knows the task and the stage, decides on the reclaim a charge at memory.max owes. Each expected charge
/// is worked out by hand from try_charge_memcg's rules (consume_stock, then MEMCG_CHARGE_BATCH = 64 pages to the
/// counters, then the charge's own page; mem_over_limit when the counter would pass memory.max).
/// </summary>
public class PageTableChargeTests
{
    private const ulong TwoMiB = 2UL << 20;
    private const ulong OneGiB = 1UL << 30;

    // One task in group g, one CPU, writing one page at the start of each of two 2 MiB ranges: each write's fault
    // needs a PTE table of its own (no THP, no fault-around, no readahead).
    private static readonly string Yaml =
        "machine: {ram: 1G, swap: 16M, cpus: 1, read_ahead_kb: 0, fault_around_bytes: 4096}\n" +
        "cgroups:\n  - {name: g}\nprocesses:\n" +
        "  - name: w\n    cgroup: g\n    layout: {exec: {}}\n" +
        $"    workload: {{generator: \"seq:count=2,base={MemcgTests.Base},region=4194304,elem=2097152,writes=1\"}}\n" +
        "timeline:\n  - at: 0\n    process: w\n" +
        $"    mmap: {{addr: {MemcgTests.Base}, length: 4194304, prot: rw-, flags: private, fixed: true}}\n";

    private static readonly ulong Base = Convert.ToUInt64(MemcgTests.Base, 16);

    /// <summary>drain_stock on CPU 0: its stocked pages of <paramref name="g"/> come off the counters (consume_stock, uncharge).</summary>
    private static void DrainStock(MemcgController mc, MemCgroup g)
    {
        long stocked = mc.Stocked(g);
        Assert.That(stocked, Is.InRange(0, MemcgController.ChargeBatch));
        if (stocked > 0)
        {
            Assert.That(mc.TryCharge(g, stocked, 0, out long batch), Is.Null);
            Assert.That(batch, Is.Zero, "taken from the stock, not the counters");
            mc.Uncharge(g, stocked);
        }
        Assert.That(mc.Stocked(g), Is.Zero);
    }

    /// <summary>
    /// The scenario after <paramref name="ticks"/> ticks (1: the first page written, its PUD, PMD and PTE tables exist;
    /// 2: both pages), with g's charge stock drained so each charge from here reaches the counters.
    /// </summary>
    private static (SimMachine M, MemcgController Mc, MemCgroup G, Entity Task, MmState Mm) Started(int ticks)
    {
        SimMachine m = MemcgTests.Build(Yaml);
        MemcgTests.Advance(m, ticks);
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup g = mc.Find("g");
        Entity task = m.Kernel.Tasks.Processes[0];
        DrainStock(mc, g);
        return (m, mc, g, task, m.Kernel.Tasks.MmOf(task));
    }

    [Test]
    public void ATableChargeReturnsChargedBelowMemoryMaxAndOverMaxAtIt()
    {
        var (m, mc, g, _, mm) = Started(1);
        using SimMachine machine = m;
        long usage = g.Usage, tables = g.PageTables, maxEvents = g.Events[(int)MemcgEvent.Max];

        // Below the limit: memory.max 64 pages above memory.current. The second range's PTE table finds the stock
        // empty, charges a batch of 64 (usage + 64 = max, not above) and stocks the 63 it does not use.
        g.Max = usage + 64;
        mm.Tables.PteAlloc(Base + TwoMiB, out PageTableCharges below);
        Assert.That((below.Allocated, below.OverMax), Is.EqualTo((1, false)));
        Assert.That((g.Usage, mc.Stocked(g), g.PageTables), Is.EqualTo((usage + 64, 63L, tables + 1)));

        // At the limit: memory.max = memory.current, the stock empty. A range 1 GiB on needs a PMD and a PTE table; each
        // charge tries a batch, then its page, finds g at its limit (mem_over_limit = g) and is forced.
        DrainStock(mc, g);
        usage = g.Usage;
        g.Max = usage;
        mm.Tables.PteAlloc(Base + OneGiB, out PageTableCharges at);
        Assert.That((at.Allocated, at.OverMaxCount, at.OverMemcg(0), at.OverMemcg(1)), Is.EqualTo((2, 2, g.Id, g.Id)));
        Assert.That((g.Usage, g.PageTables), Is.EqualTo((usage + 2, tables + 3)));
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.EqualTo(maxEvents), "the allocation itself queues no reclaim: its caller decides");

        // A caller past the fault's start (MemoryOps.PteAlloc: an install, fork, mremap) has the group reclaimed for the
        // task it names in the next tick: two more tables over the limit, two memory.events max.
        m.Kernel.Memory.PteAlloc(mm, Base + (2 * OneGiB), m.Kernel.Tasks.Processes[0]);
        Assert.That((g.Usage, g.Events[(int)MemcgEvent.Max]), Is.EqualTo((usage + 4, maxEvents + 2)));
    }

    [Test]
    public void AFaultsTableChargeAtMemoryMaxReclaimsThisTickAndTheFaultStartsAgainInTheNext()
    {
        var (m, _, g, _, mm) = Started(1);
        using SimMachine machine = m;
        long tables = g.PageTables, maxEvents = g.Events[(int)MemcgEvent.Max];
        g.Max = g.Usage; // the second write's PTE table (its PMD table is the first's) finds g at memory.max

        long pgfault = 0;
        for (int guard = 0; g.PageTables == tables; guard++)
        {
            Assert.That(guard, Is.LessThan(1000), "the second fault never came");
            pgfault = m.Env.Counters[m.Kernel.C.PgFault];
            m.Env.RunTick();
        }
        // The tick of the fault: the PTE table charged (forced), the group's reclaim queued for this tick's reclaim stage
        // (one memory.events max), and the fault stopped before it was counted or mapped its page.
        Assert.That(g.PageTables, Is.EqualTo(tables + 1));
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.EqualTo(maxEvents + 1));
        Assert.That(m.Env.Counters[m.Kernel.C.PgFault], Is.EqualTo(pgfault), "the fault waits for the reclaim");
        Assert.That(mm.Tables.Lookup(Base + TwoMiB), Is.Zero);

        // The next tick: the fault starts afresh (counted now), finds its table and allocates none.
        pgfault = m.Env.Counters[m.Kernel.C.PgFault];
        m.Env.RunTick();
        Assert.That(m.Env.Counters[m.Kernel.C.PgFault], Is.EqualTo(pgfault + 1));
        Assert.That(g.PageTables, Is.EqualTo(tables + 1));

        // The group holds little besides page tables, so its limit is raised for the page to fit (else a memcg OOM kill).
        g.Max = long.MaxValue;
        MemcgTests.Advance(m, 2);
        Assert.That(m.Kernel.Tasks.KillLog, Is.Empty);
        Assert.That(mm.Tables.Lookup(Base + TwoMiB), Is.Not.Zero, "the second page was written (mapped, or swapped out since)");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    /// <summary>The direct reclaims of the event stream: the pid each ran for.</summary>
    private sealed class DirectReclaims : IEventSink
    {
        public readonly List<int> Pids = new();

        public void Write(in MemEvent e)
        {
            if (e.Kind == MemEventKind.Reclaim && e.Direct)
                Pids.Add(e.Pid);
        }
    }

    [Test]
    public void AForksCopyAtMemoryMaxReclaimsForTheParentOncePerChildTable()
    {
        // The parent (pid 1) wrote Base and Base + 2 MiB. By hand: Base = 0x7f0000000000 is PGD entry 254, PUD entry 0,
        // PMD entries 0 and 1, so its tables below the root are one PUD, one PMD and two PTE tables; the stack and the
        // exec's file areas hold no entries, so fork's copy_page_range gives the child the same four tables.
        var (m, _, g, parent, pmm) = Started(2);
        using SimMachine machine = m;
        Assert.That((pmm.Tables.TablesAt(0), pmm.Tables.TablesAt(1), pmm.Tables.TablesAt(2)), Is.EqualTo((2L, 1L, 1L)));
        long maxEvents = g.Events[(int)MemcgEvent.Max];
        g.Max = g.Usage; // every charge from here finds g at memory.max

        var reclaims = new DirectReclaims();
        m.Kernel.AttachEvents(reclaims);
        // fork + waitpid; the child runs nothing and exits.
        m.ScheduleAt(m.Env.Now, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "c",
            ChildWorkload = _ => new Workload(new EmptyTrace("c")),
            WaitChild = true,
        });
        for (int guard = 0; m.Kernel.Tasks.Processes.Count == 1; guard++)
        {
            Assert.That(guard, Is.LessThan(1000), "the fork never came");
            m.Env.RunTick();
        }
        Entity child = m.Kernel.Tasks.Processes[1];
        Assert.That(m.Kernel.Tasks.MmOf(child).Tables.PgtablesBytes, Is.EqualTo(4UL * 4096), "PUD, PMD, two PTE tables");
        // pte_alloc_one's GFP_PGTABLE_USER charge is current's, the parent's: each of the four tables found g at its
        // limit (try_charge_memcg's mem_over_limit: one memory.events max each) and owes a reclaim of
        // SWAP_CLUSTER_MAX pages in the parent's context. The slab charges of copy_process and dup_mm are forced
        // without a reclaim (simplified), so they add no event.
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.EqualTo(maxEvents + 4));
        Assert.That(reclaims.Pids, Is.Empty, "the reclaims run in the next tick");
        m.Env.RunTick();
        // The four requests stall on one group in one tick, so they share one cgroup reclaim (SwapOutSystem's rule),
        // run for the parent; none for the child, whose task did not exist while its tables were copied.
        int parentPid = m.Kernel.World.Get<Process>(parent).Pid;
        Assert.That(reclaims.Pids, Is.EqualTo(new[] { parentPid }));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    // A threaded process in group g: the leader (pid 1, mm->owner) keeps reading Base; its thread t (pid 2) starts 2 ms
    // later (4,000,000 cycles at 2 GHz) and reads Base + 2 MiB. THP is on, so neither fault allocates a table at its start
    // (create_huge_pmd may fill the range): each read maps the huge zero page and its PTE table (the deposited
    // pgtable) is allocated at the install.
    private static readonly string ThreadedYaml =
        "machine: {ram: 1G, swap: 16M, cpus: 2, read_ahead_kb: 0, fault_around_bytes: 4096, thp: {enabled: always, use_zero_page: true}}\n" +
        "cgroups:\n  - {name: g}\nprocesses:\n" +
        "  - name: w\n    cgroup: g\n    layout: {exec: {}}\n" +
        $"    workload: {{generator: \"loop:count=4000000,base={MemcgTests.Base},pages=1\"}}\n" +
        "    threads:\n      - name: t\n        start: 4000000\n" +
        $"        workload: {{generator: \"loop:count=1000,base=0x{Base + TwoMiB:x},pages=1\"}}\n" +
        "timeline:\n  - at: 0\n    process: w\n" +
        $"    mmap: {{addr: {MemcgTests.Base}, length: 4194304, prot: rw-, flags: private, fixed: true}}\n";

    /// <summary>
    /// <see cref="ThreadedYaml"/> after the leader's first 10 accesses (the thread not started yet), g's charge stock
    /// drained, the direct reclaims of the event stream recorded from here.
    /// </summary>
    private static (SimMachine M, MemcgController Mc, MemCgroup G, Entity Leader, Entity Thread, MmState Mm, DirectReclaims Reclaims) StartedThreaded()
    {
        SimMachine m = MemcgTests.Build(ThreadedYaml);
        MemcgController mc = m.Kernel.Memcg!;
        MemCgroup g = mc.Find("g");
        Entity leader = m.Kernel.Tasks.Processes[0], thread = m.Kernel.Tasks.Processes[1];
        MmState mm = m.Kernel.Tasks.MmOf(leader);
        Assert.That(m.Kernel.Tasks.MmOf(thread), Is.SameAs(mm), "the thread shares the leader's mm");
        Assert.That((m.Kernel.World.Get<Process>(leader).Pid, m.Kernel.World.Get<Process>(thread).Pid), Is.EqualTo((1, 2)));
        // By hand: Base = 0x7f0000000000 is PGD entry 254, PUD entry 0, PMD entry 0; Base + 2 MiB is PMD entry 1 of the
        // same PMD table. The leader's read has mapped the huge zero page at PMD entry 0 (one PUD, one PMD, one PTE table).
        MemcgTests.Advance(m, 10);
        Assert.That(m.Kernel.World.Get<ProcessStats>(thread).Accesses, Is.Zero, "the thread has not started");
        Assert.That(mm.Tables.Lookup(Base) & Pte.PmdMappedBit, Is.Not.Zero, "the leader's read mapped the huge zero page");
        Assert.That((mm.Tables.TablesAt(0), mm.Tables.TablesAt(1), mm.Tables.TablesAt(2)), Is.EqualTo((1L, 1L, 1L)));
        DrainStock(mc, g);
        var reclaims = new DirectReclaims();
        m.Kernel.AttachEvents(reclaims);
        return (m, mc, g, leader, thread, mm, reclaims);
    }

    /// <summary>Runs until the thread's read at Base + 2 MiB is installed: the huge zero page and its new PTE table.</summary>
    private static void UntilTheThreadsInstall(SimMachine m, MmState mm)
    {
        for (int guard = 0; mm.Tables.Lookup(Base + TwoMiB) == 0; guard++)
        {
            Assert.That(guard, Is.LessThan(1_000_000), "the thread's fault never came");
            m.Env.RunTick();
        }
        Assert.That(mm.Tables.Lookup(Base + TwoMiB) & Pte.PmdMappedBit, Is.Not.Zero, "the thread's read mapped the huge zero page");
        Assert.That(mm.Tables.TablesAt(0), Is.EqualTo(2L), "one new PTE table, under PMD entry 1 (the PMD table is the leader's)");
    }

    [Test]
    public void AThreadsInstallAtMemoryMaxReclaimsForThatThreadNotForTheMmOwner()
    {
        var (m, _, g, leader, thread, mm, reclaims) = StartedThreaded();
        using SimMachine machine = m;
        g.Max = g.Usage; // every charge from here finds g at memory.max
        long tables = g.PageTables, maxEvents = g.Events[(int)MemcgEvent.Max];

        UntilTheThreadsInstall(m, mm);
        // The tick of the thread's install: its one new table charged at memory.max (forced; one memory.events max),
        // its reclaim owed in the next tick.
        Assert.That(g.PageTables, Is.EqualTo(tables + 1));
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.EqualTo(maxEvents + 1));
        Assert.That(reclaims.Pids, Is.Empty, "the reclaim runs in the next tick");
        Assert.That(mm.Owner, Is.EqualTo(leader), "the leader still owns the mm");
        m.Env.RunTick();
        // pte_alloc_one's GFP_PGTABLE_USER charge reclaims in current's context: the thread that faulted (pid 2), not
        // mm->owner (pid 1).
        Assert.That(reclaims.Pids, Is.EqualTo(new[] { m.Kernel.World.Get<Process>(thread).Pid }));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void AThreadsInstallAboveMemoryHighIsPaidAtThatThreadsReturnToUser()
    {
        var (m, mc, g, leader, thread, mm, reclaims) = StartedThreaded();
        using SimMachine machine = m;
        g.High = g.Usage; // any charge that reaches the counters takes g above memory.high
        long usage = g.Usage, highEvents = g.Events[(int)MemcgEvent.High], maxEvents = g.Events[(int)MemcgEvent.Max];

        UntilTheThreadsInstall(m, mm);
        // By hand: the table's charge finds the stock empty and puts a batch of MEMCG_CHARGE_BATCH = 64 pages on the
        // counters (63 stocked), g now above memory.high: try_charge_memcg adds the 64 to the allocating task's
        // memcg_nr_pages_over_high. The huge zero page charges nothing. The thread's return to user after the install
        // (mem_cgroup_handle_over_high) finds g above high: one memory.events high, a reclaim of max(64,
        // SWAP_CLUSTER_MAX) = 64 pages owed in the next tick; the leader, which charged nothing, owes nothing.
        Assert.That((g.Usage, mc.Stocked(g)), Is.EqualTo((usage + 64, 63L)));
        Assert.That(g.Events[(int)MemcgEvent.High], Is.EqualTo(highEvents + 1));
        Assert.That(g.Events[(int)MemcgEvent.Max], Is.EqualTo(maxEvents), "below memory.max");
        Assert.That((mc.TakeOverHigh(thread), mc.TakeOverHigh(leader)), Is.EqualTo((0L, 0L)), "paid at the return, none left");
        Assert.That(reclaims.Pids, Is.Empty, "the reclaim runs in the next tick");
        m.Env.RunTick();
        Assert.That(reclaims.Pids, Is.EqualTo(new[] { m.Kernel.World.Get<Process>(thread).Pid }));
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}
