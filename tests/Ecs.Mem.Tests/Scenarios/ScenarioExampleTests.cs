using EcsMem.Scenarios;
using ExecLayout = EcsMem.Scenarios.ExecLayout;
using InferredLayout = EcsMem.Scenarios.InferredLayout;
using TlbConfig = EcsMem.Scenarios.TlbConfig;

namespace EcsMem.Tests.Scenarios;

/// <summary>Parses samples/scenarios/example.yaml and checks every value it sets against the file's text.</summary>
public class ScenarioExampleTests
{
    private string _dir = "";
    private Scenario _s = null!;

    [OneTimeSetUp]
    public void Load()
    {
        string path = Path.Combine(ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "example.yaml");
        _dir = Path.GetDirectoryName(path)!;
        _s = ScenarioParser.ParseFile(path);
    }

    /// <summary>
    /// The file's closing note: every value in it is valid, so `ecsmem run` stops at the first input file that is not
    /// shipped, maps/ls.maps (until session 21 it stopped earlier, at a seq workload of 4,096 accesses over 1,024 pages).
    /// </summary>
    [Test]
    public void RunningItStopsAtTheFirstInputFileThatIsNotShipped()
    {
        var (code, stdout, stderr) = Report.ReportTestFiles.Run("run", Path.Combine(_dir, "example.yaml"));
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.Trim(), Does.StartWith("ecsmem: error: " + Path.Combine(_dir, "maps", "ls.maps") + ": cannot read maps file"));
    }

    [Test]
    public void MachineScalars()
    {
        var m = _s.Machine;
        Assert.That(_s.Description, Is.EqualTo("Every scenario key in one file, for the documentation and the parser tests."));
        Assert.That(m.Cpu, Is.EqualTo(CpuGeometrySource.Configured));
        Assert.That(m.Cpus, Is.EqualTo(4));
        Assert.That(m.RamBytes, Is.EqualTo(32 * 1024 * 1024));
        Assert.That(m.RamPages, Is.EqualTo(8192)); // 32 MiB / 4 KiB
        Assert.That(m.SwapBytes, Is.EqualTo(64 * 1024 * 1024));
        Assert.That(m.PageSize, Is.EqualTo(4096));
        Assert.That(m.Paging, Is.EqualTo(PagingMode.X86_64));
        Assert.That(m.MinFreeKbytes, Is.EqualTo(2048));
        Assert.That(m.Swappiness, Is.EqualTo(100));
        Assert.That(m.Pcid, Is.False);
        Assert.That(m.Quantum, Is.EqualTo(5000));
        Assert.That(m.BatchSize, Is.EqualTo(1024));
        Assert.That(m.Seed, Is.EqualTo(42UL)); // 0x2a
    }

    [Test]
    public void CachesAndTlbs()
    {
        var m = _s.Machine;
        Assert.That(m.L1i, Is.EqualTo(new CacheConfig(32 * 1024, 8, 64, CacheInclusion.NonInclusive)));
        Assert.That(m.L1d, Is.EqualTo(new CacheConfig(32 * 1024, 8, 64, CacheInclusion.NonInclusive)));
        Assert.That(m.L2, Is.EqualTo(new CacheConfig(512 * 1024, 8, 64, CacheInclusion.NonInclusive) { Shared = false }));
        Assert.That(m.L3, Is.EqualTo(new CacheConfig(6 * 1024 * 1024, 12, 64, CacheInclusion.Inclusive) { Shared = true }));
        // l1i and l1d do not say: private per CPU, the default for level 1.
        Assert.That(new[] { m.L1i.Shared, m.L1d.Shared, m.L2.Shared, m.L3.Shared }, Is.EqualTo(new[] { false, false, false, true }));
        Assert.That(m.L3.Sets, Is.EqualTo(8192)); // 6291456 / (12 * 64)
        Assert.That(m.Dtlb, Is.EqualTo(new TlbConfig(64, 4)));
        Assert.That(m.Itlb, Is.EqualTo(new TlbConfig(64, 8)));
        Assert.That(m.Stlb, Is.EqualTo(new TlbConfig(2048, 16)));
        Assert.That(m.Stlb.Sets, Is.EqualTo(128));
    }

    [Test]
    public void LatenciesAndPolicy()
    {
        var l = _s.Machine.Latency;
        Assert.That(new[] { l.L1, l.L2, l.L3, l.Memory, l.Stlb, l.WalkLevel, l.MinorFault, l.SwapWrite, l.Shootdown, l.ContextSwitch },
            Is.EqualTo(new long[] { 5, 14, 42, 250, 9, 30, 1500, 250_000, 3000, 6000 }));
        Assert.That(l.MajorFault, Is.EqualTo(200_000)); // 80 µs × 2.5 GHz × 1000 cycles/(µs·GHz)
        var p = _s.Machine.Policy;
        Assert.That(p.Name, Is.EqualTo("clock"));
        Assert.That(p.Options, Is.EqualTo(new[] { new PolicyOption("seed", "7", 40), new PolicyOption("hand_spread", "64", 41) }));
        Assert.That(p.Option("hand_spread"), Is.EqualTo("64"));
        Assert.That(p.Option("absent"), Is.Null);
        Assert.That(p.Line, Is.EqualTo(38));
    }

    [Test]
    public void Processes()
    {
        Assert.That(_s.Processes, Has.Count.EqualTo(3));
        var db = _s.Processes[0];
        Assert.That(db.Name, Is.EqualTo("db"));
        Assert.That(db.StartCycle, Is.EqualTo(0UL));
        Assert.That(db.Line, Is.EqualTo(51));
        Assert.That(db.Layout, Is.EqualTo(new ExecLayout("/usr/sbin/db", 1 << 20, 128 << 10, 64 << 10, 16 << 20, 8 << 20, 8 << 10, 55)));
        Assert.That(db.Workload, Is.EqualTo(new GeneratorWorkload("zipf:count=100000,pages=4096,alpha=0.9,writes=0.25,seed=3", 63)));
        Assert.That(((GeneratorWorkload)db.Workload).Kind, Is.EqualTo("zipf"));
        Assert.That(db.Children, Is.EqualTo(new ForkChildrenConfig(2, 5000, new GeneratorWorkload("uniform:count=10000,pages=1024,writes=0.5,seed=4", 74), 71)));
        // The second thread has no name (db-t2 by position) and no start (db's, 0).
        Assert.That(db.Threads, Is.EqualTo(new[]
        {
            new ThreadConfig("db-worker", 1000, new GeneratorWorkload("uniform:count=20000,pages=4096,writes=0.5,seed=5", 68), 65),
            new ThreadConfig("db-t2", 0, new GeneratorWorkload("seq:count=1024,pages=1024,seed=6", 69), 69),
        }));

        var ls = _s.Processes[1];
        Assert.That(ls.Name, Is.EqualTo("ls"));
        Assert.That(ls.StartCycle, Is.EqualTo(2_000_000UL));
        Assert.That(ls.Layout, Is.EqualTo(new MapsFileLayout(Path.Combine(_dir, "maps", "ls.maps"), 81)));
        Assert.That(ls.Workload, Is.EqualTo(new TraceWorkload(Path.Combine(_dir, "traces", "ls.lackey"), TraceFormat.Lackey, null, 83)));

        var tool = _s.Processes[2];
        Assert.That(tool.Layout, Is.EqualTo(new InferredLayout(87)));
        Assert.That(tool.Workload, Is.EqualTo(new TraceWorkload("/var/traces/tool.pinatrace", TraceFormat.Pinatrace, "4242", 90)));
        Assert.That(tool.Children, Is.Null);
        Assert.That(ls.Threads, Is.Empty);
        Assert.That(tool.Threads, Is.Empty);
    }

    [Test]
    public void Timeline()
    {
        var t = _s.Timeline;
        Assert.That(t, Has.Count.EqualTo(11));
        Assert.That(t[0], Is.EqualTo(new TimelineEvent(TimelineTrigger.AtCycle, 1000, "db",
            new MmapOp(0x7f00_0000_0000, 4 << 20, Protection.Read, true, Path.Combine(_dir, "data", "table.bin"), 64 << 10, true), 96)));
        Assert.That(t[1], Is.EqualTo(new TimelineEvent(TimelineTrigger.AfterAccesses, 20000, "db",
            new MmapOp(null, 2 << 20, Protection.Read | Protection.Write, false, null, 0, false), 99)));
        Assert.That(t[2].Op, Is.EqualTo(new MprotectOp(0x7f00_0000_0000, 1 << 20, Protection.Read | Protection.Write)));
        Assert.That(t[3].Op, Is.EqualTo(new MunmapOp(0x7f00_0010_0000, 1 << 20)));
        Assert.That(t[4].Op, Is.EqualTo(new BrkOp(-64 * 1024, null)));
        Assert.That(t[5], Is.EqualTo(new TimelineEvent(TimelineTrigger.AtCycle, 3_000_000, "ls", new BrkOp(null, 0x5555_5600_0000), 111)));
        Assert.That(t[6].Op, Is.EqualTo(new ForkOp("db-snapshot", new GeneratorWorkload("seq:count=4096,pages=4096", 116))));
        Assert.That(t[7], Is.EqualTo(new TimelineEvent(TimelineTrigger.AfterAccesses, 10000, "db-1", new ExitOp(), 117)));
        Assert.That(t[8].Op, Is.EqualTo(new ForkOp("db-idle", null)));
        Assert.That(t[9], Is.EqualTo(new TimelineEvent(TimelineTrigger.AtCycle, 9_000_000, "db-idle", new ExitOp(), 123)));
        // A timeline event may name a thread.
        Assert.That(t[10], Is.EqualTo(new TimelineEvent(TimelineTrigger.AfterAccesses, 15000, "db-worker", new ExitOp(), 126)));
    }
}
