using EcsMem.Scenarios;
using ExecLayout = EcsMem.Scenarios.ExecLayout;
using InferredLayout = EcsMem.Scenarios.InferredLayout;
using TlbConfig = EcsMem.Scenarios.TlbConfig;

namespace EcsMem.Tests.Scenarios;

/// <summary>Keys left out take the documented defaults (the seed lecture's lscpu for caches).</summary>
public class ScenarioDefaultsTests
{
    [Test]
    public void MinimalScenarioGetsEveryDefault()
    {
        var s = ScenarioTestFiles.Parse(ScenarioTestFiles.OneProcess);
        var m = s.Machine;
        Assert.That(s.SourceName, Is.EqualTo("test.yaml"));
        Assert.That(s.Description, Is.Null);
        Assert.That(s.Timeline, Is.Empty);
        Assert.That(m.Cpu, Is.EqualTo(CpuGeometrySource.Configured));
        Assert.That(m.Cpus, Is.EqualTo(1));
        Assert.That(m.RamBytes, Is.EqualTo(64L * 1024 * 1024));
        Assert.That(m.SwapBytes, Is.Zero);
        Assert.That(m.PageSize, Is.EqualTo(4096));
        Assert.That(m.Paging, Is.EqualTo(PagingMode.X86_64));
        // lscpu of the lecture: L1d 32K, L1i 32K, L2 256K, L3 3072K; 64-byte lines; 8/8/4/12 ways.
        Assert.That(m.L1d, Is.EqualTo(new CacheConfig(32768, 8, 64, CacheInclusion.NonInclusive)));
        Assert.That(m.L1i, Is.EqualTo(new CacheConfig(32768, 8, 64, CacheInclusion.NonInclusive)));
        Assert.That(m.L2, Is.EqualTo(new CacheConfig(262144, 4, 64, CacheInclusion.NonInclusive)));
        Assert.That(m.L3, Is.EqualTo(new CacheConfig(3145728, 12, 64, CacheInclusion.Inclusive) { Shared = true }));
        // Level 1 and 2 are private to each CPU, level 3 is shared by all of them.
        Assert.That(new[] { m.L1i.Shared, m.L1d.Shared, m.L2.Shared, m.L3.Shared }, Is.EqualTo(new[] { false, false, false, true }));
        // Sets: 32768/(8·64) = 64; 262144/(4·64) = 1024; 3145728/(12·64) = 4096.
        Assert.That(new[] { m.L1d.Sets, m.L1i.Sets, m.L2.Sets, m.L3.Sets }, Is.EqualTo(new long[] { 64, 64, 1024, 4096 }));
        Assert.That(m.Dtlb, Is.EqualTo(new TlbConfig(64, 4)));
        Assert.That(m.Itlb, Is.EqualTo(new TlbConfig(128, 8)));
        Assert.That(m.Stlb, Is.EqualTo(new TlbConfig(1536, 12)));
        Assert.That(m.Stlb.Sets, Is.EqualTo(128)); // 1536 / 12
        Assert.That(m.Latency, Is.EqualTo(new LatencyConfig()));
        Assert.That(m.Latency.MajorFault, Is.EqualTo(300_000)); // 100 µs at 3 GHz
        Assert.That(m.Policy.Name, Is.EqualTo("linux"));
        Assert.That(m.Policy.Options, Is.Empty);
        Assert.That(m.MinFreeKbytes, Is.Null);
        Assert.That(m.Swappiness, Is.EqualTo(60));
        Assert.That(m.Pcid, Is.True);
        Assert.That(m.Quantum, Is.EqualTo(10_000));
        Assert.That(m.BatchSize, Is.EqualTo(4096));
        Assert.That(m.Seed, Is.EqualTo(1UL));

        var p = s.Processes.Single();
        Assert.That(p, Is.EqualTo(new ProcessConfig("p", 0, new InferredLayout(2), new GeneratorWorkload("random:count=10", 3), null, 2)));
        Assert.That(p.Threads, Is.Empty);
    }

    [Test]
    public void PartialSectionsKeepTheOtherDefaults()
    {
        var s = ScenarioTestFiles.Parse("""
            machine:
              caches:
                l2: {size: 1M}
              tlb:
                stlb: {ways: 6}
              latency:
                memory: 300
              policy: clock
            processes:
              - name: p
                layout:
                  exec:
                workload: {generator: g}
            """);
        var m = s.Machine;
        Assert.That(m.L2, Is.EqualTo(new CacheConfig(1 << 20, 4, 64, CacheInclusion.NonInclusive))); // 4096 sets
        Assert.That(m.L1d, Is.EqualTo(new MachineConfig().L1d));
        Assert.That(m.Stlb, Is.EqualTo(new TlbConfig(1536, 6))); // 256 sets
        Assert.That(m.Latency, Is.EqualTo(new LatencyConfig { Memory = 300 }));
        Assert.That(m.Policy, Is.EqualTo(new ReplacementPolicyConfig("clock", m.Policy.Options, 8)));
        Assert.That(m.Policy.Options, Is.Empty);
        Assert.That(s.Processes[0].Layout, Is.EqualTo(ExecLayout.Defaults("p", 12)));
        Assert.That(s.Processes[0].Layout, Is.EqualTo(new ExecLayout("/bin/p", 65536, 16384, 16384, 131072, 8388608, 4096, 12)));
    }

    [Test]
    public void HostCpuIsRecorded()
    {
        var s = ScenarioTestFiles.Parse("machine: {cpu: host}\n" + ScenarioTestFiles.OneProcess);
        Assert.That(s.Machine.Cpu, Is.EqualTo(CpuGeometrySource.Host));
    }

    [TestCase("x86", PagingMode.X86, 2, 0xC000_0000UL)]
    [TestCase("x86-64", PagingMode.X86_64, 4, 0x7FFF_FFFF_F000UL)]
    [TestCase("x86-64-la57", PagingMode.X86_64La57, 5, 0xFF_FFFF_FFFF_F000UL)]
    public void PagingModes(string text, PagingMode mode, int levels, ulong userLimit)
    {
        var s = ScenarioTestFiles.Parse($"machine: {{paging: {text}, ram: 8M}}\n" + ScenarioTestFiles.OneProcess);
        Assert.That(s.Machine.Paging, Is.EqualTo(mode));
        Assert.That(s.Machine.Paging.Levels(), Is.EqualTo(levels));
        Assert.That(s.Machine.Paging.UserAddressLimit(), Is.EqualTo(userLimit));
        Assert.That(s.Machine.Paging.Name(), Is.EqualTo(text));
    }

    [TestCase("rwx", Protection.Read | Protection.Write | Protection.Exec)]
    [TestCase("rw-", Protection.Read | Protection.Write)]
    [TestCase("r-x", Protection.Read | Protection.Exec)]
    [TestCase("---", Protection.None)]
    [TestCase("none", Protection.None)]
    [TestCase("rx", Protection.Read | Protection.Exec)]
    [TestCase("w", Protection.Write)]
    public void ProtectionForms(string text, Protection expected)
    {
        Assert.That(ProtectionText.TryParse(text, out var p), Is.True);
        Assert.That(p, Is.EqualTo(expected));
        // Round trip through the /proc/pid/maps form.
        Assert.That(ProtectionText.TryParse(ProtectionText.Format(p), out var again) && again == p, Is.True);
    }

    [TestCase("xr")]
    [TestCase("rr")]
    [TestCase("r-w")]
    [TestCase("")]
    [TestCase("rwxp")]
    public void BadProtectionForms(string text) => Assert.That(ProtectionText.TryParse(text, out _), Is.False);

    [Test]
    public void NumbersAcceptDigitGroupsAndMajorFaultFromDiskTime()
    {
        var s = ScenarioTestFiles.Parse("machine:\n  quantum: 1_000_000\n  latency: {disk_us: 12.5, cpu_ghz: 4}\n" + ScenarioTestFiles.OneProcess);
        Assert.That(s.Machine.Quantum, Is.EqualTo(1_000_000));
        Assert.That(s.Machine.Latency.MajorFault, Is.EqualTo(50_000)); // 12.5 µs × 4 GHz × 1000
    }

    [Test]
    public void RelativePathsAreResolvedAgainstTheBaseDirectoryOnly()
    {
        const string yaml = "processes:\n  - name: p\n    layout: {maps: m/p.maps}\n    workload: {trace: {path: /abs/t.lackey, format: lackey}}\n";
        var kept = ScenarioParser.Parse(new StringReader(yaml), "x.yaml");
        Assert.That(((MapsFileLayout)kept.Processes[0].Layout).Path, Is.EqualTo("m/p.maps"));
        string baseDir = Path.GetFullPath(Path.GetTempPath());
        var resolved = ScenarioParser.Parse(new StringReader(yaml), "x.yaml", baseDir);
        Assert.That(((MapsFileLayout)resolved.Processes[0].Layout).Path, Is.EqualTo(Path.Combine(baseDir, "m", "p.maps")));
        Assert.That(((TraceWorkload)resolved.Processes[0].Workload).Path, Is.EqualTo("/abs/t.lackey"));
    }
}
