using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

/// <summary>
/// SMP and threads on the input side: <c>machine.cpus</c>, <c>caches.&lt;level&gt;.shared</c> and a process's
/// <c>threads:</c>, with their defaults; errors are in <see cref="ScenarioErrorTests"/>.
/// </summary>
public class ScenarioSmpTests
{
    [TestCase("1", 1)]
    [TestCase("2", 2)]
    [TestCase("64", 64)]
    [TestCase("1_6", 16)]
    public void CpusAcceptsOneToSixtyFour(string text, int expected)
    {
        var s = ScenarioTestFiles.Parse($"machine: {{cpus: {text}}}\n" + ScenarioTestFiles.OneProcess);
        Assert.That(s.Machine.Cpus, Is.EqualTo(expected));
    }

    [Test]
    public void SharedIsSetPerLevelAndTheOtherKeysKeepTheirDefaults()
    {
        var s = ScenarioTestFiles.Parse("""
            machine:
              cpus: 8
              caches:
                l1d: {shared: true}
                l2: {size: 1M, shared: yes}
                l3: {shared: off}
            processes:
              - name: p
                workload: {generator: g}
            """);
        var m = s.Machine;
        Assert.That(m.Cpus, Is.EqualTo(8));
        // l1i is not mentioned: its default, private.
        Assert.That(m.L1i, Is.EqualTo(new CacheConfig(32768, 8, 64, CacheInclusion.NonInclusive) { Shared = false }));
        Assert.That(m.L1d, Is.EqualTo(new CacheConfig(32768, 8, 64, CacheInclusion.NonInclusive) { Shared = true }));
        Assert.That(m.L2, Is.EqualTo(new CacheConfig(1 << 20, 4, 64, CacheInclusion.NonInclusive) { Shared = true }));
        Assert.That(m.L3, Is.EqualTo(new CacheConfig(3145728, 12, 64, CacheInclusion.Inclusive) { Shared = false }));
    }

    [Test]
    public void HostCpuKeepsTheDefaultSharing()
    {
        var m = ScenarioTestFiles.Parse("machine: {cpu: host, cpus: 4}\n" + ScenarioTestFiles.OneProcess).Machine;
        Assert.That(m.Cpus, Is.EqualTo(4));
        Assert.That(new[] { m.L1i.Shared, m.L1d.Shared, m.L2.Shared, m.L3.Shared }, Is.EqualTo(new[] { false, false, false, true }));
    }

    [Test]
    public void MachineConfigDefaultsAreExplicit()
    {
        var m = new MachineConfig();
        Assert.That(m.Cpus, Is.EqualTo(1));
        Assert.That((MachineConfig.MinCpus, MachineConfig.MaxCpus), Is.EqualTo((1, 64)));
        Assert.That(new[] { m.L1i.Shared, m.L1d.Shared, m.L2.Shared, m.L3.Shared }, Is.EqualTo(new[] { false, false, false, true }));
        // A CacheConfig built by hand is private unless told otherwise.
        Assert.That(new CacheConfig(4096, 1, 64, CacheInclusion.Inclusive).Shared, Is.False);
    }

    private const string Threaded = """
        processes:
          - name: web
            start: 500
            workload: {generator: "loop:count=10,pages=4"}
            threads:
              - workload: {generator: "seq:count=4,pages=4"}
              - name: web.io
                start: 9000
                workload: {trace: {path: io.bin, format: binary, process: "3"}}
              - start: 0x200
                workload:
                  generator: "uniform:count=7,pages=2"
            children: {count: 1}
          - name: solo
            workload: {generator: g}
        timeline:
          - {after: 2, process: web-t3, exit: {}}
          - {at: 10000, process: web.io, munmap: {addr: 0x10000, length: 4K}}
          - {at: 20000, process: web-1, exit: {}}
        """;

    [Test]
    public void ThreadsTakeDefaultNamesAndStartsByPosition()
    {
        var s = ScenarioTestFiles.Parse(Threaded);
        var web = s.Processes[0];
        Assert.That(web.Workload, Is.EqualTo(new GeneratorWorkload("loop:count=10,pages=4", 4)));
        // Thread 1 has neither name nor start: web-t1 at the process's start, 500. Thread 3 is web-t3 (by position,
        // though thread 2 has a name) and starts at 0x200 = 512.
        Assert.That(web.Threads, Is.EqualTo(new[]
        {
            new ThreadConfig("web-t1", 500, new GeneratorWorkload("seq:count=4,pages=4", 6), 6),
            new ThreadConfig("web.io", 9000, new TraceWorkload("io.bin", TraceFormat.Binary, "3", 9), 7),
            new ThreadConfig("web-t3", 512, new GeneratorWorkload("uniform:count=7,pages=2", 12), 10),
        }));
        Assert.That(web.Children, Is.EqualTo(new ForkChildrenConfig(1, 0, null, 13)));
        Assert.That(s.Processes[1].Threads, Is.Empty);
        // Timeline events name threads as they name processes.
        Assert.That(s.Timeline.Select(e => e.Process), Is.EqualTo(new[] { "web-t3", "web.io", "web-1" }));
        Assert.That(ThreadConfig.DefaultName("web", 12), Is.EqualTo("web-t12"));
    }

    [Test]
    public void ProcessesWithEqualThreadListsAreEqual()
    {
        // Two parses build different list objects; the records still compare equal, element by element.
        var a = ScenarioTestFiles.Parse(Threaded).Processes[0];
        var b = ScenarioTestFiles.Parse(Threaded).Processes[0];
        Assert.That(a.Threads, Is.Not.SameAs(b.Threads));
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a with { Threads = a.Threads.Take(2).ToArray() }, Is.Not.EqualTo(b));
        Assert.That(a with { Threads = [] }, Is.EqualTo(a with { Threads = Array.Empty<ThreadConfig>() }));
    }

    [Test]
    public void TheMostThreadsAProcessMayHave()
    {
        // 255 extra threads plus the main thread: 256 thread ids, 0..255; the last default name is a-t255.
        var s = ScenarioTestFiles.Parse("processes:\n  - name: a\n    workload: {generator: g}\n    threads:\n"
            + string.Concat(Enumerable.Repeat("      - workload: {generator: g}\n", 255)));
        Assert.That(s.Processes[0].Threads, Has.Count.EqualTo(255));
        Assert.That(s.Processes[0].Threads[^1].Name, Is.EqualTo("a-t255"));
        Assert.That(s.Processes[0].Threads[^1].Line, Is.EqualTo(259)); // entries on lines 5..259
    }

    [Test]
    public void WriterWritesCpusSharedAndThreadsAndReadsThemBack()
    {
        var s = ScenarioTestFiles.Parse("machine:\n  cpus: 3\n  caches: {l2: {shared: true}}\n" + Threaded);
        string yaml = ScenarioWriter.ToYaml(s);
        string[] lines = yaml.Split('\n');
        Assert.That(lines, Does.Contain("  cpus: 3"));
        Assert.That(lines, Does.Contain("    l2: {size: 262144, ways: 4, line: 64, inclusion: non-inclusive, shared: true}"));
        Assert.That(lines, Does.Contain("    l1d: {size: 32768, ways: 8, line: 64, inclusion: non-inclusive, shared: false}"));
        // Every thread with its name and start written out.
        string threads = string.Join("\n", lines.SkipWhile(l => l != "    threads:").Take(10));
        Assert.That(threads, Is.EqualTo("""
                threads:
                  - name: "web-t1"
                    start: 500
                    workload: {generator: "seq:count=4,pages=4"}
                  - name: "web.io"
                    start: 9000
                    workload: {trace: {path: "io.bin", format: binary, process: "3"}}
                  - name: "web-t3"
                    start: 512
                    workload: {generator: "uniform:count=7,pages=2"}
            """));
        var again = ScenarioParser.Parse(new StringReader(yaml), s.SourceName);
        Assert.That(ModelDump.Of(again, withLines: false), Is.EqualTo(ModelDump.Of(s, withLines: false)));
        Assert.That(ScenarioWriter.ToYaml(again), Is.EqualTo(yaml));
    }
}
