using EcsMem.Scenarios;

namespace EcsMem.Tests.Scenarios;

public class ScenarioWriterTests
{
    private const string Unusual = """
        description: "quotes \" and \\ backslash,\nnew line and a tab\t"
        machine:
          cpu: host
          cpus: 64
          paging: x86
          ram: 16M
          swap: 0
          min_free_kbytes: 128
          readahead_requests: false
          per_cpu_pages: false
          readahead_queue: true
          policy: {name: lfu.v2, options: {"weird key": "a: b", seed: "null"}}
        processes:
          - name: "null"
            layout: {maps: /proc/1/maps}
            workload: {trace: {path: "/t/with space.pin", format: pinatrace, process: "true"}}
            children: {count: 3}
          - name: b
            start: 0x10
            workload: {trace: {path: t.bin, format: binary}}
            children: {count: 2, start_delay: 77, workloads: [{generator: "seq:count=1"}, {trace: {path: t.bin, format: binary}}]}
            threads:
              - {name: "true", workload: {trace: {path: t.bin, format: binary, process: "0"}}}
              - {start: 0x20, workload: {generator: "seq:count=1"}}
        timeline:
          - {at: 5, process: b, brk: {to: 0x8000123}}
          - {after: 3, process: null-2, mprotect: {addr: 0x1000, length: 1, prot: none}}
          - {after: 4, process: "null", fork: {child: c, workload: {generator: "phase:a=1"}, wait: true}}
          - {at: 0, process: c, mmap: {length: 8K, flags: shared}}
          - {after: 9, process: b-t2, exit: {}}
          - {after: 1, process: c, pause: {}}
        """;

    private static IEnumerable<TestCaseData> Scenarios()
    {
        yield return new TestCaseData("example").SetName("RoundTrip_Example");
        yield return new TestCaseData("default").SetName("RoundTrip_Default");
        yield return new TestCaseData("unusual").SetName("RoundTrip_Unusual");
    }

    private static Scenario Load(string which) => which switch
    {
        "example" => ScenarioParser.ParseFile(Path.Combine(ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "example.yaml")),
        "default" => DefaultScenario.Load(),
        _ => ScenarioTestFiles.Parse(Unusual),
    };

    [TestCaseSource(nameof(Scenarios))]
    public void WrittenYamlParsesBackToTheSameModelAndIsAFixedPoint(string which)
    {
        var s = Load(which);
        string yaml = ScenarioWriter.ToYaml(s);
        var again = ScenarioParser.Parse(new StringReader(yaml), s.SourceName);
        // Line numbers differ (the written file has its own layout); everything else must be equal.
        Assert.That(ModelDump.Of(again, withLines: false), Is.EqualTo(ModelDump.Of(s, withLines: false)));
        Assert.That(ScenarioWriter.ToYaml(again), Is.EqualTo(yaml));
    }

    [Test]
    public void CgroupsAndTheirProcessesAreWrittenAndReadBack()
    {
        var s = ScenarioParser.ParseFile(Path.Combine(ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "memcg.yaml"));
        string yaml = ScenarioWriter.ToYaml(s);
        var again = ScenarioParser.Parse(new StringReader(yaml), s.SourceName);
        Assert.That(again.Cgroups.Select(c => c with { Line = 0 }), Is.EqualTo(s.Cgroups.Select(c => c with { Line = 0 })));
        Assert.That(again.Processes.Select(p => p.Cgroup), Is.EqualTo(new[] { "db", "batch" }));
        Assert.That(yaml, Does.Contain("  - {name: \"db\", parent: \"services\", memory.max: 8388608, memory.high: max, memory.low: 0, memory.min: 0, memory.swap.max: max}\n"));
        Assert.That(ScenarioWriter.ToYaml(again), Is.EqualTo(yaml));
    }

    [Test]
    public void EveryDefaultIsWrittenExplicitly()
    {
        string yaml = ScenarioWriter.ToYaml(ScenarioTestFiles.Parse(ScenarioTestFiles.OneProcess));
        string[] lines = yaml.Split('\n');
        // 64 MiB = 67108864 bytes; L3 3072K = 3145728 bytes; major fault 100 µs × 3 GHz = 300000 cycles.
        Assert.That(lines, Does.Contain("  cpus: 1"));
        Assert.That(lines, Does.Contain("  ram: 67108864"));
        Assert.That(lines, Does.Contain("    l2: {size: 262144, ways: 4, line: 64, inclusion: non-inclusive, shared: false}"));
        Assert.That(lines, Does.Contain("    l3: {size: 3145728, ways: 12, line: 64, inclusion: inclusive, shared: true}"));
        Assert.That(lines, Does.Contain("    stlb: {entries: 1536, ways: 12}"));
        Assert.That(lines, Does.Contain("    major_fault: 300000"));
        Assert.That(lines, Does.Contain("    name: \"linux\""));
        Assert.That(lines, Does.Contain("    layout: infer"));
        Assert.That(lines, Does.Contain("    workload: {generator: \"random:count=10\"}"));
        Assert.That(yaml, Does.Not.Contain("min_free_kbytes"));
        Assert.That(yaml, Does.Not.Contain("timeline"));
        Assert.That(yaml, Does.Not.Contain("threads")); // a single-threaded process has no threads list
    }

    [Test]
    public void HostCpuOmitsTheCachesSection()
    {
        string yaml = ScenarioWriter.ToYaml(ScenarioTestFiles.Parse(Unusual));
        Assert.That(yaml, Does.Contain("  cpu: host\n"));
        Assert.That(yaml, Does.Not.Contain("caches"));
    }
}
