using System.Globalization;
using EcsMem.Scenarios;
using EcsMem.Systems.Events;
using EcsMem.Systems.Reporting;
using EcsMem.Tests.Reliability;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Events;

/// <summary>
/// The event stream against what can be counted by hand (three first touches, a copy-on-write break), against
/// the report's own counters (every fault, swap-out, swap-in, reclaim pass and stall has its event), and across
/// batch sizes and CPU counts (the stream is byte-identical).
/// </summary>
public class EventStreamTests
{
    internal static string Sample(string name) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "samples", "scenarios", name);

    /// <summary>Runs <paramref name="s"/> to the end with a list sink attached; returns the events and the report.</summary>
    internal static (List<MemEvent> Events, SimulationReport Report) Run(Scenario s, int? batch = null)
    {
        using SimMachine m = ScenarioLoader.Build(s, batch);
        var sink = new ListEventSink();
        m.Kernel.AttachEvents(sink);
        m.Run();
        Assert.That(m.Finished, Is.True);
        return (sink.Events, SimulationReport.Build(m, s.SourceName));
    }

    private static long Vm(SimulationReport r, string name) => r.VmStat.Single(v => v.Name == name).Value;

    [Test]
    public void ThreeFirstTouchesOfAFreshMmapAreThreeAnonymousFaultsInOrder()
    {
        // A 3-page anonymous mmap at a fixed address at t=0, then one store to the start of each page, in order
        // (seq over 3 pages). Nothing else touches memory (the generator makes only data accesses), so: one syscall, then for each
        // page a frame (②) and an anonymous first-write fault (①, do_anonymous_page), in address order. The first
        // walk finds only the empty pgd entry (1 level read); the fault allocates the PUD, PMD and PTE tables, so the
        // next two walks read all 4 levels down to the empty PTE. With one CPU the fault window closes at once and
        // the fault costs latency.minor_fault (1000 cycles) from the fault to its end.
        var s = ReliabilityScenarios.Parse("""
            machine: {ram: 1M, swap: 0}
            processes:
              - name: p
                layout: {exec: {file: /bin/p}}
                workload: {generator: "seq:count=3,pages=3,writes=1,base=0x7f0000000000"}
            timeline:
              - at: 0
                process: p
                mmap: {addr: 0x7f0000000000, length: 12K, fixed: true}
            """);
        var (events, _) = Run(s);
        var sys = events.Single(e => e.Kind == MemEventKind.Syscall);
        Assert.That(sys.Text, Is.EqualTo("mmap(0x7f0000000000, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000"));
        Assert.That((sys.Pid, sys.Name, sys.Result), Is.EqualTo((1, "mmap", 0x7f0000000000L)));

        var mine = events.Where(e => e.Kind is MemEventKind.Fault or MemEventKind.Alloc).ToList();
        ulong[] addrs = [0x7f0000000000, 0x7f0000001000, 0x7f0000002000];
        int[] levels = [1, 4, 4];
        Assert.That(mine, Has.Count.EqualTo(6));
        for (int i = 0; i < 3; i++)
        {
            MemEvent alloc = mine[2 * i], fault = mine[(2 * i) + 1];
            Assert.That((alloc.Kind, alloc.Address), Is.EqualTo((MemEventKind.Alloc, addrs[i])), $"page {i}");
            Assert.That(fault.Kind, Is.EqualTo(MemEventKind.Fault));
            Assert.That((fault.Address, fault.Class, fault.Outcome, fault.Access), Is.EqualTo((addrs[i], FaultClass.AnonNew, FaultOutcome.Installed, EcsMem.Traces.AccessKind.Store)), $"page {i}");
            Assert.That((fault.VmaStart, fault.VmaEnd, fault.Name), Is.EqualTo((0x7f0000000000UL, 0x7f0000003000UL, "")), $"page {i}");
            Assert.That((fault.WalkLevels, fault.Pfn, fault.Major, fault.Latency), Is.EqualTo((levels[i], alloc.Pfn, false, 1000UL)), $"page {i}");
            Assert.That(fault.Time, Is.GreaterThan(alloc.Time - 1));
        }
    }

    [Test]
    public void TwoWritersOfAForkedPageAreOneCowCopyThenOneCowReuse()
    {
        // The parent stores to its first heap page (a new anonymous page), forks, and stores to it again; the child
        // stores to the same page. fork made it read-only copy-on-write with mapcount 2, so whichever writes first
        // copies it (wp_page_copy) and the other, now its only user, reuses it in place (wp_page_reuse).
        var s = ReliabilityScenarios.Parse("""
            machine: {ram: 1M, swap: 0}
            processes:
              - name: p
                layout: {exec: {file: /bin/p, heap: 64K}}
                workload: {generator: "loop:count=2,pages=1,writes=1"}
            timeline:
              - after: 1
                process: p
                fork: {child: c, workload: {generator: "loop:count=1,pages=1,writes=1"}}
            """);
        var (events, report) = Run(s);
        var sys = events.Single(e => e.Kind == MemEventKind.Syscall);
        Assert.That(sys.Text, Is.EqualTo("fork()" + new string(' ', 34) + "= 2"));
        var heapFaults = events.Where(e => e.Kind == MemEventKind.Fault && e.Name == "[heap]").ToList();
        Assert.That(heapFaults.Select(f => f.Class), Is.EqualTo(new[] { FaultClass.AnonNew, FaultClass.CowCopy, FaultClass.CowReuse }));
        Assert.That(heapFaults.Select(f => f.Address & ~0xfffUL).Distinct().Count(), Is.EqualTo(1), "one page");
        Assert.That(heapFaults.Skip(1).Select(f => f.Pid).Order(), Is.EqualTo(new[] { 1, 2 }), "one writer each");
        Assert.That((Vm(report, "ecsmem_cow_copy"), Vm(report, "ecsmem_cow_reuse")), Is.EqualTo((1L, 1L)));
        Assert.That(events.Count(e => e.Kind == MemEventKind.ProcessStart), Is.EqualTo(2));
        Assert.That(events.Count(e => e.Kind == MemEventKind.ProcessExit), Is.EqualTo(2));
    }

    [Test]
    public void UnderPressureEveryCounterHasItsEvents()
    {
        // The default scenario: faults of every class, reclaim by kswapd and directly, swap-out and swap-in, COW,
        // file reads. Each count below is the report's own /proc/vmstat counter, counted where the event is emitted.
        var (events, r) = Run(DefaultScenario.Load());
        long Count(Func<MemEvent, bool> p) => events.LongCount(p);
        long Sum(Func<MemEvent, bool> p, Func<MemEvent, long> v) => events.Where(p).Sum(v);
        bool Ended(MemEvent e) => e.Kind == MemEventKind.Fault && e.Outcome is FaultOutcome.Installed or FaultOutcome.Retried;
        bool Reclaim(MemEvent e, bool direct) => e.Kind == MemEventKind.Reclaim && e.Direct == direct;

        Assert.That(Count(e => e.Kind == MemEventKind.Fault && e.Outcome != FaultOutcome.Sigsegv), Is.EqualTo(Vm(r, "pgfault")));
        Assert.That(Count(e => Ended(e) && e.Major), Is.EqualTo(Vm(r, "pgmajfault")));
        Assert.That(Count(e => e.Kind == MemEventKind.Fault && e.Outcome == FaultOutcome.Sigsegv), Is.EqualTo(Vm(r, "ecsmem_sigsegv")));
        Assert.That(Count(e => Ended(e) && e.Class == FaultClass.CowCopy && e.Outcome == FaultOutcome.Installed), Is.EqualTo(Vm(r, "ecsmem_cow_copy")));
        Assert.That(Count(e => Ended(e) && e.Class == FaultClass.ZeroPage && e.Outcome == FaultOutcome.Installed), Is.EqualTo(Vm(r, "ecsmem_zero_page_map")));
        Assert.That(Count(e => e.Kind == MemEventKind.SwapOut), Is.EqualTo(Vm(r, "pswpout")));
        Assert.That(Count(e => e.Kind == MemEventKind.SwapIn), Is.EqualTo(Vm(r, "pswpin")));
        Assert.That(Count(e => e.Kind == MemEventKind.AllocStall), Is.EqualTo(Vm(r, "allocstall_normal")));
        Assert.That(Count(e => e.Kind == MemEventKind.KswapdWake), Is.EqualTo(Vm(r, "ecsmem_kswapd_wakeups")));
        // One kswapd reclaim event per balance_pgdat priority round; pageoutrun counts the runs (several rounds each).
        Assert.That(Count(e => Reclaim(e, false)), Is.GreaterThanOrEqualTo(Vm(r, "pageoutrun")));
        Assert.That(Vm(r, "pageoutrun"), Is.GreaterThan(0));
        Assert.That(Sum(e => Reclaim(e, false), e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_kswapd")));
        Assert.That(Sum(e => Reclaim(e, true), e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_direct")));
        Assert.That(Sum(e => Reclaim(e, false), e => e.Scanned), Is.EqualTo(Vm(r, "pgscan_kswapd")));
        Assert.That(Sum(e => Reclaim(e, true), e => e.Scanned), Is.EqualTo(Vm(r, "pgscan_direct")));
        Assert.That(Count(e => e.Kind == MemEventKind.OomKill), Is.EqualTo(Vm(r, "oom_kill")));
        Assert.That(Vm(r, "pswpout") * Vm(r, "pgsteal_direct") * Vm(r, "pswpin"), Is.GreaterThan(0), "the scenario is under pressure");
        // The syscall events are the operation log's lines, in order.
        Assert.That(events.Where(e => e.Kind == MemEventKind.Syscall).Select(e => string.Create(CultureInfo.InvariantCulture, $"t={e.Time} pid {e.Pid} {e.Text}")),
            Is.EqualTo(r.AddressSpaceLog.Where(l => l.StartsWith("t=", StringComparison.Ordinal))));
        Assert.That(Count(e => e.Kind == MemEventKind.ProcessExit), Is.EqualTo(r.Processes.Count));
        // Every event lies within the run, and a fault's latency is never negative or beyond the run.
        Assert.That(events.All(e => e.Time <= r.Cycles), Is.True);
    }

    [Test]
    public void EachShrinkListCallIsAnEventWhenAskedFor()
    {
        // lru_shrink_inactive / lru_shrink_active (Linux's mm_vmscan_lru_shrink_* tracepoints) come only with
        // VmscanCalls on, and then every pass's calls add up to the pass and to the report's counters: the inactive calls'
        // scanned and reclaimed to pgscan_* and pgsteal_* (and each reclaim event's own figures to those of the calls
        // since the previous one), the active calls' taken to pgrefill and their deactivated to pgdeactivate. Priorities
        // run from DEF_PRIORITY (12) down within a pass.
        var scenario = DefaultScenario.Load();
        var (plain, _) = Run(scenario);
        Assert.That(plain.Any(e => e.Kind is MemEventKind.LruShrinkInactive or MemEventKind.LruShrinkActive), Is.False, "off unless asked for");

        using SimMachine m = ScenarioLoader.Build(scenario);
        var sink = new ListEventSink();
        m.Kernel.AttachEvents(sink).VmscanCalls = true;
        m.Run();
        var r = SimulationReport.Build(m, scenario.SourceName);
        var events = sink.Events;
        Assert.That(Lines(events.Where(e => e.Kind is not (MemEventKind.LruShrinkInactive or MemEventKind.LruShrinkActive))), Is.EqualTo(Lines(plain)),
            "the other events are the same");

        bool Inactive(MemEvent e, bool direct) => e.Kind == MemEventKind.LruShrinkInactive && e.Direct == direct;
        long Sum(Func<MemEvent, bool> p, Func<MemEvent, long> v) => events.Where(p).Sum(v);
        Assert.That(Sum(e => Inactive(e, false), e => e.Scanned), Is.EqualTo(Vm(r, "pgscan_kswapd")));
        Assert.That(Sum(e => Inactive(e, true), e => e.Scanned), Is.EqualTo(Vm(r, "pgscan_direct")));
        Assert.That(Sum(e => Inactive(e, false), e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_kswapd")));
        Assert.That(Sum(e => Inactive(e, true), e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_direct")));
        Assert.That(Sum(e => e.Kind == MemEventKind.LruShrinkActive, e => e.Scanned), Is.EqualTo(Vm(r, "pgrefill")));
        Assert.That(Sum(e => e.Kind == MemEventKind.LruShrinkActive, e => e.Reclaimed), Is.EqualTo(Vm(r, "pgdeactivate")));
        Assert.That(events.Count(e => e.Kind == MemEventKind.LruShrinkInactive), Is.GreaterThan(0));

        // Pass by pass (a direct pass's calls come before its reclaim line, with nothing of another pass between).
        long scanned = 0, reclaimed = 0;
        int lastPriority = int.MaxValue, passes = 0;
        var pids = new HashSet<int>();
        foreach (MemEvent e in events)
        {
            if (e.Kind == MemEventKind.LruShrinkInactive && e.Direct)
            {
                Assert.That(e.Priority, Is.InRange(0, 12));
                // do_try_to_free_pages lowers the priority until enough is reclaimed; only its retries (force_deactivate,
                // memcg_low_reclaim) start again, from DEF_PRIORITY.
                Assert.That(e.Priority <= lastPriority || e.Priority == 12, Is.True, "the priority only falls within a pass");
                lastPriority = e.Priority;
                pids.Add(e.Pid);
                scanned += e.Scanned;
                reclaimed += e.Reclaimed;
            }
            else if (e.Kind == MemEventKind.Reclaim && e.Direct)
            {
                Assert.That((e.Scanned, e.Reclaimed), Is.EqualTo((scanned, reclaimed)), "a direct pass is its calls");
                Assert.That(pids, Is.Empty.Or.EquivalentTo(new[] { e.Pid }), "its calls are the reclaiming task's");
                Assert.That(e.Pid, Is.GreaterThan(0));
                pids.Clear();
                (scanned, reclaimed, lastPriority) = (0, 0, int.MaxValue);
                passes++;
            }
        }
        Assert.That(passes, Is.GreaterThan(0));
    }

    [Test]
    public void MglruEvictionIsAnLruShrinkInactiveEventToo()
    {
        // evict_folios ends with trace_mm_vmscan_lru_shrink_inactive on Linux: under lru_gen the inactive calls' sums are
        // still pgscan_* (as scanned, less any min_seq step: evict_folios passes the count it returns) and exactly pgsteal_*.
        string yaml = DefaultScenario.Yaml.Replace("machine:\n", "machine:\n  lru_gen: {enabled: y}\n", StringComparison.Ordinal);
        Assert.That(yaml, Does.Contain("lru_gen"));
        using var reader = new StringReader(yaml);
        var scenario = ScenarioParser.Parse(reader, "default+lru_gen");
        using SimMachine m = ScenarioLoader.Build(scenario);
        var sink = new ListEventSink();
        m.Kernel.AttachEvents(sink).VmscanCalls = true;
        m.Run();
        var r = SimulationReport.Build(m, scenario.SourceName);
        var calls = sink.Events.Where(e => e.Kind == MemEventKind.LruShrinkInactive).ToList();
        Assert.That(calls, Is.Not.Empty);
        Assert.That(sink.Events.Any(e => e.Kind == MemEventKind.LruShrinkActive), Is.False, "MGLRU has no active list to shrink");
        Assert.That(calls.Where(e => !e.Direct).Sum(e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_kswapd")));
        Assert.That(calls.Where(e => e.Direct).Sum(e => e.Reclaimed), Is.EqualTo(Vm(r, "pgsteal_direct")));
    }

    private static string Lines(IEnumerable<MemEvent> events) => string.Join("\n", events.Select(e => EventJsonWriter.ToJson(e)));

    [TestCase("teach-fault.yaml", 1)]
    [TestCase("teach-fault.yaml", 2)]
    [TestCase("teach-fault.yaml", 4)]
    [TestCase("threads", 2)]
    [TestCase("threads", 4)]
    public void TheStreamIsTheSameAtEveryBatchSize(string scenario, int cpus)
    {
        Scenario s = scenario == "threads" ? ReliabilityScenarios.Parse(ReliabilityScenarios.Threads) : ScenarioParser.ParseFile(Sample(scenario));
        s = s with { Machine = s.Machine with { Cpus = cpus } };
        string reference = Lines(Run(s, 1).Events);
        Assert.That(reference, Does.Contain("\"kind\":\"fault\""));
        foreach (int batch in (int[])[7, 4096])
            Assert.That(Lines(Run(s, batch).Events), Is.EqualTo(reference), $"batch {batch} vs 1");
    }
}
