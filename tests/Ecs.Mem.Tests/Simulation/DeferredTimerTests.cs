using EcsMem.Ecs;
using EcsMem.Scenarios;
using EcsMem.Simulation;
using EcsMem.Systems.Reporting;
using EcsMem.Tests.Report;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Simulation;

/// <summary>
/// Kernel threads' periodic timers through a long idle stretch (<see cref="IDeferrableTimer"/>,
/// <see cref="SimEnvironment.DeferIdleTimers"/>): a wake that would find nothing to do is skipped, and every figure is
/// the one waking every period gives. The differential tests run each scenario with the skip on and off and compare
/// the whole text and JSON reports (and the CLI's snapshots, timeline and explain output) byte for byte.
/// </summary>
[NonParallelizable] // one test turns SimEnvironment.DeferTimersByDefault off around in-process CLI runs
public class DeferredTimerTests
{
    /// <summary>900e9 cycles: 300 s at 3 GHz, 600 of kcompactd's 500 ms timeouts.</summary>
    private const ulong Late = 900_000_000_000;

    /// <summary>Scenarios with an idle stretch of 300 s, each exercising one kernel thread or machine feature.</summary>
    private static readonly Dictionary<string, string> Scenarios = new()
    {
        // A process that starts long after the first has finished: only kcompactd's proactive check wakes meanwhile.
        ["delayed"] = $$$"""
            machine: {ram: 16M, swap: 16M, seed: 3}
            processes:
              - name: early
                layout: {exec: {heap: 4M}}
                workload: {generator: "uniform:count=20000,pages=1024,writes=0.5,seed=4"}
              - name: late
                start: {{{Late}}}
                layout: {exec: {heap: 2M}}
                workload: {generator: "loop:count=3000,pages=256,writes=0.3"}
            """,
        // The same on two CPUs (each CPU idles on its own clock; kcompactd runs on CPU 0).
        ["delayed-2cpu"] = $$$"""
            machine: {ram: 16M, swap: 16M, seed: 3, cpus: 2}
            processes:
              - name: early
                layout: {exec: {heap: 4M}}
                workload: {generator: "uniform:count=20000,pages=1024,writes=0.5,seed=4"}
              - name: early2
                layout: {exec: {heap: 2M}}
                workload: {generator: "zipf:count=15000,pages=512,alpha=0.8,writes=0.4,seed=6"}
              - name: late
                start: {{{Late}}}
                layout: {exec: {heap: 2M}}
                workload: {generator: "loop:count=3000,pages=256,writes=0.3"}
            """,
        // Proactive compaction: two processes' pages interleaved, one exits, the other's fork child holds the rest for
        // 300 s. The first timeout compacts (score above the high mark 60), the later ones find it below: skipped.
        ["proactive"] = $$$"""
            machine: {ram: 16M, swap: 0, seed: 3, compaction_proactiveness: 50, quantum: 64}
            processes:
              - name: holder
                layout: {exec: {heap: 6M}}
                workload: {generator: "seq:count=1536,region=6M,elem=4096,writes=1"}
                children: {count: 1, after: 1536, start_delay: {{{Late}}}}
              - name: filler
                layout: {exec: {heap: 6M}}
                workload: {generator: "seq:count=1536,region=6M,elem=4096,writes=1"}
            """,
        // khugepaged with a registered mm (THP always; the fork child inherits the registration): its 7 s wakes scan
        // the child's mm through the stretch, skipped as kcompactd's timeouts are (KhugepagedSkipTests has more).
        ["khugepaged"] = $$$"""
            machine:
              ram: 32M
              seed: 3
              thp: {enabled: always, khugepaged: {scan_sleep_millisecs: 7000}}
            processes:
              - name: parent
                layout: {exec: {heap: 8M}}
                workload: {generator: "seq:count=2048,region=8M,elem=4096,writes=1"}
                children: {count: 1, after: 2048, start_delay: {{{Late}}}}
            """,
        // Async writeback: a shared file mapping written at random (dirty pages, the flusher, writes completing as
        // events), then the idle stretch before the late process.
        ["writeback"] = $$$"""
            machine: {ram: 64M, swap: 0, seed: 5, writeback: async}
            processes:
              - name: writer
                layout: {exec: {}}
                workload: {generator: "uniform:count=20000,pages=3072,writes=0.7,base=0x7f0000000000,seed=1"}
              - name: late
                start: {{{Late}}}
                layout: {exec: {heap: 1M}}
                workload: {generator: "loop:count=2000,pages=128,writes=0.5"}
            timeline:
              - at: 0
                process: writer
                mmap: {addr: 0x7f0000000000, length: 12M, prot: rw-, flags: shared, file: /data/big, fixed: true}
            """,
    };

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (string name in Scenarios.Keys)
            yield return new TestCaseData(name, null).SetName($"SkippingIdleTimeoutsChangesNoFigure({name})");
        yield return new TestCaseData("delayed", 1).SetName("SkippingIdleTimeoutsChangesNoFigure(delayed, batch 1)");
        yield return new TestCaseData("delayed-2cpu", 1).SetName("SkippingIdleTimeoutsChangesNoFigure(delayed-2cpu, batch 1)");
    }

    private static (string Text, string Json, ulong Deferred, long Ticks) RunReport(string name, int? batch, bool defer, bool pcpTuning = false)
    {
        // pcp_high_tuning: false pinned by default: the tick arithmetic below counts these threads' timers alone (the
        // 6.7+ per-CPU lists add vmstat_update's, whose wakes share ticks with kcompactd's every second);
        // VmstatUpdateSkipsChangeNoFigure runs the same scenarios with it.
        string yaml = pcpTuning ? Scenarios[name]
            : Scenarios[name].Replace("machine: {", "machine: {pcp_high_tuning: false, ").Replace("machine:\n", "machine:\n  pcp_high_tuning: false\n");
        Scenario s = ScenarioParser.Parse(new StringReader(yaml), name + ".yaml");
        Assert.That(s.Machine.PcpHighTuning, Is.EqualTo(pcpTuning));
        using SimMachine m = ScenarioLoader.Build(s, batch);
        m.Env.DeferTimersWhenIdle = defer;
        m.Run();
        Assert.That(m.Finished, Is.True);
        SimulationReport r = SimulationReport.Build(m, name + ".yaml");
        return (ReportTextWriter.Write(r), ReportJsonWriter.Write(r), m.Env.DeferredWakes, m.Env.Ticks);
    }

    [TestCaseSource(nameof(Cases))]
    public void SkippingIdleTimeoutsChangesNoFigure(string name, int? batch)
    {
        var every = RunReport(name, batch, defer: false);
        var skipped = RunReport(name, batch, defer: true);
        Assert.That(every.Deferred, Is.Zero, "with the skip off every period wakes");
        // The stretch holds ~600 timeouts; all but a few around its ends (and, with khugepaged, one before each of
        // its wakes) are skipped, each saving the wake's tick and the idle tick before it.
        Assert.That(skipped.Deferred, Is.GreaterThan(500UL));
        Assert.That(skipped.Ticks, Is.EqualTo(every.Ticks - 2 * (long)skipped.Deferred));
        Assert.That(skipped.Text, Is.EqualTo(every.Text), "text report");
        Assert.That(skipped.Json, Is.EqualTo(every.Json), "JSON report");
    }

    /// <summary>
    /// With Linux 6.7+'s per-CPU lists (the default) vmstat_update's once-a-second decay is a deferrable timer too: its
    /// wakes that would change no list are skipped through the idle stretch along with the threads' (the count of
    /// ticks saved is not the simple two per wake, as its wakes fall on kcompactd's every second), and no figure moves.
    /// </summary>
    [TestCase("delayed")]
    [TestCase("delayed-2cpu")]
    [TestCase("writeback")]
    public void VmstatUpdateSkipsChangeNoFigure(string name)
    {
        var every = RunReport(name, null, defer: false, pcpTuning: true);
        var skipped = RunReport(name, null, defer: true, pcpTuning: true);
        var threadsOnly = RunReport(name, null, defer: true);
        Assert.That(skipped.Deferred, Is.GreaterThan(threadsOnly.Deferred), "vmstat_update's idle wakes are skipped as well");
        Assert.That(skipped.Ticks, Is.LessThan(every.Ticks));
        Assert.That(skipped.Text, Is.EqualTo(every.Text), "text report");
        Assert.That(skipped.Json, Is.EqualTo(every.Json), "JSON report");
    }

    /// <summary>
    /// The proactive scenario's first timeout does compact (it is not skipped: its score is above the high mark), and
    /// the khugepaged scenario's thread scans through the stretch: its wakes and full scans count the same skipped.
    /// </summary>
    [Test]
    public void WakesThatDoSomethingStillRun()
    {
        foreach (string name in new[] { "proactive", "khugepaged" })
        {
            long[] proactive = new long[2], khugepagedWakes = new long[2], fullScans = new long[2];
            for (int mode = 0; mode < 2; mode++)
            {
                using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(Scenarios[name]), name + ".yaml"));
                m.Env.DeferTimersWhenIdle = mode == 1;
                m.Run();
                proactive[mode] = m.Kernel.Kcompactd.ProactiveRuns;
                khugepagedWakes[mode] = m.Kernel.Khugepaged.Wakes;
                fullScans[mode] = m.Kernel.Khugepaged.FullScans;
            }
            Assert.That(proactive[1], Is.EqualTo(proactive[0]), name);
            Assert.That(khugepagedWakes[1], Is.EqualTo(khugepagedWakes[0]), name);
            Assert.That(fullScans[1], Is.EqualTo(fullScans[0]), name);
            if (name == "proactive")
                Assert.That(proactive[1], Is.GreaterThan(0));
            else
                // 300 s / 7 s: at least 42 wakes fall in the stretch, each a full scan of the child's one mm.
                Assert.That(khugepagedWakes[1], Is.GreaterThanOrEqualTo(42));
        }
    }

    /// <summary>
    /// The CLI's views of a moment inside the idle stretch — a <c>--snapshot</c> at a cycle count, <c>explain --at</c>
    /// a cycle count — and the <c>--timeline</c> CSV are the same with the skip on and off: an observer's time bounds the
    /// stretch skipped (the access stage's time mark), so the run stops at the same tick boundary.
    /// </summary>
    [Test]
    public void SnapshotsTimelineAndExplainInsideTheStretchAreTheSame()
    {
        using var files = new ReportTestFiles();
        string yaml = files.Write("delayed.yaml", Scenarios["delayed"]);
        const string Inside = "450000000000"; // half way through the stretch
        string csv = files.PathOf("t.csv");
        string[][] commands =
        [
            ["run", yaml, "--snapshot", Inside + ",end"],
            ["run", yaml, "--json", "--snapshot", Inside],
            ["run", yaml, "--timeline", csv, "--timeline-every", "1000", "--snapshot", "none"],
            ["explain", "0x400000", "--scenario", yaml, "--at", Inside, "--pid", "2"],
        ];
        foreach (string[] args in commands)
        {
            string[] outputs = new string[2];
            for (int mode = 0; mode < 2; mode++)
            {
                File.Delete(csv);
                SimEnvironment.DeferTimersByDefault = mode == 1;
                try
                {
                    var (code, stdout, stderr) = ReportTestFiles.Run(args);
                    Assert.That(code, Is.Zero, stderr);
                    outputs[mode] = stdout + (File.Exists(csv) ? File.ReadAllText(csv) : "");
                }
                finally
                {
                    SimEnvironment.DeferTimersByDefault = true;
                }
            }
            Assert.That(outputs[1], Is.EqualTo(outputs[0]), string.Join(' ', args));
        }
    }

    /// <summary>
    /// A process that starts at 2^62 cycles, the latest allowed: kcompactd's timer (armed when the process's mm was made)
    /// falls every 1.5e9 cycles (500 ms at 3 GHz) from boot, so floor((2^62 − 1) / 1.5e9) = 3,074,457,345 timeouts come
    /// before the start. The first idle skips straight to the last of them; that one wakes, and the rest are skipped.
    /// </summary>
    [Test]
    public void AStartAtTheEndOfTheClocksRangeSkipsEveryTimeoutButTheLast()
    {
        const ulong Start = 1UL << 62;
        // pcp_high_tuning: false: the count is kcompactd's timeouts alone (6.7+'s vmstat_update would add its own).
        string yaml = $"machine:\n  ram: 16M\n  pcp_high_tuning: false\nprocesses:\n  - name: a\n    start: {Start}\n    layout:\n      exec: {{file: /bin/a, heap: 64K}}\n    workload:\n      generator: \"loop:count=100,pages=4\"\n";
        using SimMachine m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "late.yaml"));
        m.Run();
        const ulong Period = 1_500_000_000;
        ulong timeouts = (Start - 1) / Period;
        Assert.That(timeouts, Is.EqualTo(3_074_457_345UL));
        Assert.That(m.Env.DeferredWakes, Is.EqualTo(timeouts - 1));
        Assert.That(m.CompletedAccesses(), Is.EqualTo(100));
        Assert.That(m.Env.Ticks, Is.LessThan(1000));
        // The CPU idled from 0 to the start: the idle time is at least that, whether its pieces were 500 ms or one.
        Assert.That(m.Access.IdleCycles, Is.GreaterThanOrEqualTo((long)Start));
    }

    /// <summary>A timer for the engine's own test: wakes every <c>period</c> from <c>first</c>, a no-op until <c>effectiveAt</c>.</summary>
    private sealed class FakeTimer(SimEnvironment env, ulong first, ulong period, ulong effectiveAt) : IEventHandler, IDeferrableTimer
    {
        private int _kind;
        private ulong _seq;

        public ulong Pending { get; private set; }

        public void Arm()
        {
            _kind = env.RegisterEventKind("fake-timer", this);
            env.RegisterDeferrableTimer(_kind, this);
            Pending = first;
            _seq = env.ScheduleAt(first, new SimEvent(_kind, Entity.Null));
        }

        public void Handle(SimEnvironment e, in SimEvent ev) { }

        /// <summary>How many times the environment asked <see cref="FirstEffectiveWake"/>.</summary>
        public int Asked { get; private set; }

        public ulong FirstEffectiveWake(ulong before)
        {
            Asked++;
            return Math.Max(Pending, effectiveAt);
        }

        public ulong DeferBefore(ulong horizon)
        {
            if (horizon <= Pending)
                return 0;
            ulong skip = (horizon - 1 - Pending) / period;
            if (skip == 0)
                return 0;
            env.Events.Cancel(_seq);
            Pending += skip * period;
            _seq = env.ScheduleAt(Pending, new SimEvent(_kind, Entity.Null));
            return skip;
        }
    }

    private sealed class Nothing : IEventHandler
    {
        public void Handle(SimEnvironment env, in SimEvent ev) { }
    }

    [TestCase(ulong.MaxValue, ulong.MaxValue, 970UL, 32UL)] // the other event at 1000 bounds it: 10 + 32 × 30 = 970 < 1000
    [TestCase(500UL, ulong.MaxValue, 490UL, 16UL)]          // an observer's time: 10 + 16 × 30 = 490 < 500
    [TestCase(ulong.MaxValue, 400UL, 370UL, 12UL)]          // its own first effective wake: 10 + 12 × 30 = 370 < 400
    [TestCase(ulong.MaxValue, 10UL, 10UL, 0UL)]             // the pending wake does something: not moved
    public void ATimerMovesToItsLastPeriodBeforeTheHorizon(ulong notAfter, ulong effectiveAt, ulong expectedAt, ulong expectedSkipped)
    {
        var env = new SimEnvironment();
        int other = env.RegisterEventKind("io", new Nothing());
        env.ScheduleAt(1000, new SimEvent(other, Entity.Null));
        var timer = new FakeTimer(env, first: 10, period: 30, effectiveAt);
        timer.Arm();
        env.DeferIdleTimers(notAfter);
        Assert.That(timer.Pending, Is.EqualTo(expectedAt));
        Assert.That(env.DeferredWakes, Is.EqualTo(expectedSkipped));
        Assert.That(env.Events.PeekTime, Is.EqualTo(expectedAt));
        Assert.That(env.Events.Count, Is.EqualTo(2), "the timer's old wake is gone, not doubled");
    }

    [Test]
    public void AnIdleStretchEndingAtAnotherEventBeforeTheTimersWakeAsksNoTimer()
    {
        // The I/O completion at 5 is due first: the horizon (at most 5) is before the timer's wake at 10, so no wake can
        // be skipped and the queue's scan and the timers' questions are left out.
        var env = new SimEnvironment();
        int other = env.RegisterEventKind("io", new Nothing());
        env.ScheduleAt(5, new SimEvent(other, Entity.Null));
        var timer = new FakeTimer(env, first: 10, period: 30, effectiveAt: ulong.MaxValue);
        timer.Arm();
        env.DeferIdleTimers();
        Assert.That(timer.Pending, Is.EqualTo(10UL));
        Assert.That(env.DeferredWakes, Is.Zero);
        Assert.That(timer.Asked, Is.Zero);
        Assert.That(env.Events.PeekEvent.Kind, Is.EqualTo(other));
    }

    [Test]
    public void NothingMovesWithTheSkipOffOrWithNothingAhead()
    {
        var env = new SimEnvironment { DeferTimersWhenIdle = false };
        int other = env.RegisterEventKind("io", new Nothing());
        env.ScheduleAt(1000, new SimEvent(other, Entity.Null));
        var timer = new FakeTimer(env, first: 10, period: 30, effectiveAt: ulong.MaxValue);
        timer.Arm();
        env.DeferIdleTimers();
        Assert.That(timer.Pending, Is.EqualTo(10UL));

        // Only the timer is queued and no observer's time is given: nothing bounds the stretch, nothing moves.
        var alone = new SimEnvironment();
        var lone = new FakeTimer(alone, first: 10, period: 30, effectiveAt: ulong.MaxValue);
        lone.Arm();
        alone.DeferIdleTimers();
        Assert.That(lone.Pending, Is.EqualTo(10UL));
        Assert.That(alone.DeferredWakes, Is.Zero);
    }

    [Test]
    public void EarliestTimeSkipsTheEventsItIsToldTo()
    {
        var q = new EventQueue<SimEvent>();
        q.Schedule(50, new SimEvent(1, Entity.Null));
        q.Schedule(20, new SimEvent(0, Entity.Null));
        q.Schedule(70, new SimEvent(2, Entity.Null));
        q.Schedule(30, new SimEvent(1, Entity.Null));
        Assert.That(q.EarliestTime(e => e.Kind != 0), Is.EqualTo(30UL));
        Assert.That(q.EarliestTime(e => e.Kind == 2), Is.EqualTo(70UL));
        Assert.That(q.EarliestTime(e => e.Kind == 3), Is.EqualTo(ulong.MaxValue));
    }
}
