using EcsMem.Scenarios;
using EcsMem.Tests.Reliability;
using static EcsMem.Tests.Smp.SmpKit;

namespace EcsMem.Tests.Smp;

/// <summary>
/// The batch size is a performance knob only, with several CPUs too: the CPUs interleave in simulated-time order
/// and a fault window closes at the same simulated point whatever the batch size, so runs at batch 1 (one access
/// per tick, the reference semantics), 7 and 4096 must end in the same state and print the same report, but for
/// the effective-configuration line that states the batch size itself.
/// </summary>
public class SmpBatchSizeInvarianceTests
{
    private static readonly int[] Batches = [1, 7, 4096];

    /// <summary>Runs <paramref name="s"/> at each batch size; returns the dumps and reports (batch line removed).</summary>
    private static (string Dump, string Report)[] RunAtEveryBatchSize(Scenario s, int[]? batches = null, Action<EcsMem.Systems.Machine.Machine>? check = null)
    {
        batches ??= Batches;
        var results = new (string, string)[batches.Length];
        for (int i = 0; i < batches.Length; i++)
        {
            using var m = ScenarioLoader.Build(s, batches[i]);
            m.Run();
            Assert.That(m.Finished, Is.True, $"batch {batches[i]}");
            Assert.That(m.Kernel.Options.BatchSize, Is.EqualTo(batches[i]));
            check?.Invoke(m);
            results[i] = (MachineDump.Of(m), ReportWithoutBatchLine(TextReport(m, s.SourceName), batches[i]));
        }
        return results;
    }

    private static void AssertAllEqual((string Dump, string Report)[] runs, int[]? batches = null)
    {
        batches ??= Batches;
        // Batch 1 is the reference; the first differing lines are shown before the whole-text comparison.
        for (int i = 1; i < runs.Length; i++)
        {
            Assert.That(DeterminismTests.FirstDifference(runs[i].Dump, runs[0].Dump), Is.Null, $"dump, batch {batches[i]} vs 1");
            Assert.That(DeterminismTests.FirstDifference(runs[i].Report, runs[0].Report), Is.Null, $"report, batch {batches[i]} vs 1");
            Assert.That(runs[i].Dump, Is.EqualTo(runs[0].Dump));
            Assert.That(runs[i].Report, Is.EqualTo(runs[0].Report));
        }
    }

    /// <summary>The cpus line of the report's effective configuration: the override reached the machine.</summary>
    private static void AssertCpus(string report, int cpus) =>
        Assert.That(report.Split('\n'), Does.Contain(FormattableString.Invariant($"  {"cpus",-30} {cpus}")));

    /// <summary>The embedded default scenario (one million accesses) once per CPU count, at the three batch sizes.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void DefaultScenario(int cpus)
    {
        var runs = RunAtEveryBatchSize(WithCpus(EcsMem.Scenarios.DefaultScenario.Load(), cpus));
        AssertCpus(runs[0].Report, cpus);
        // Non-trivial: the run swapped (major faults), and with several CPUs the fault handler saw fault batches.
        Assert.That(runs[0].Dump, Does.Match(@"counter pgmajfault [1-9]"));
        Assert.That(runs[0].Report, cpus > 1 ? Does.Contain("== fault batches") : Does.Not.Contain("== fault batches"));
        AssertAllEqual(runs);
    }

    /// <summary>
    /// A scenario whose processes have threads (one thread exits on the timeline, a leader's exit ends its group,
    /// a threaded process forks), in 1 MiB of RAM so reclaim shoots down TLB entries of the other threads' CPUs.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    public void ThreadsScenario(int cpus)
    {
        var runs = RunAtEveryBatchSize(WithCpus(ReliabilityScenarios.Parse(ReliabilityScenarios.Threads), cpus));
        AssertCpus(runs[0].Report, cpus);
        // Five tasks of two processes plus one fork child: the threads are tasks of their own in the dump.
        Assert.That(runs[0].Dump.Split('\n').Count(l => l.StartsWith("process ", StringComparison.Ordinal)), Is.EqualTo(6));
        // With one CPU nobody else can hold the mm, so nothing is ever sent to another CPU.
        if (cpus == 1)
            Assert.That(runs[0].Dump, Does.Contain("counter nr_tlb_remote_flush_received 0\n"));
        else
            Assert.That(runs[0].Dump, Does.Match(@"counter nr_tlb_remote_flush_received [1-9]"));
        AssertAllEqual(runs);
    }

    /// <summary>
    /// The default scenario with <c>writeback: async</c> (and with the multi-gen LRU): swap-outs complete as events while
    /// the CPUs run on; a completion frees an orphaned swap-cache page to its submitting CPU's per-CPU list at the
    /// request's due time, not to whichever CPU the last tick simulated nor at the machine's time when it is dispatched,
    /// both of which depend on the batch size (they gave 49972 major faults at batch 1 and 49727 at batch 7).
    /// </summary>
    [TestCase(2, false)]
    [TestCase(4, false)]
    [TestCase(2, true)]
    [TestCase(4, true)]
    public void DefaultScenarioWithAsyncWriteback(int cpus, bool lruGen)
    {
        Scenario s = WithCpus(EcsMem.Scenarios.DefaultScenario.Load(), cpus);
        s = s with
        {
            Machine = s.Machine with
            {
                WritebackAsync = true,
                LruGen = lruGen ? new LruGenConfig { Caps = LruGenConfig.All } : LruGenConfig.Default,
            },
        };
        var runs = RunAtEveryBatchSize(s);
        AssertCpus(runs[0].Report, cpus);
        // Non-trivial: reclaim wrote pages asynchronously, their writes completed, and completions freed pages.
        Assert.That(runs[0].Dump, Does.Match(@"counter nr_vmscan_write [1-9]"));
        Assert.That(runs[0].Dump, Does.Match(@"counter nr_written [1-9]"));
        Assert.That(runs[0].Dump, Does.Match(@"counter pgmajfault [1-9]"));
        AssertAllEqual(runs);
    }

    /// <summary>
    /// Two writers of one shared file mapping and an anonymous process in 4 MiB, with the flusher's periodic pass every
    /// centisecond: the flusher's runs (its kworker on CPU 0, from the time its timer fell due) and the completions of
    /// its writes happen at their due times whatever the batch size. Until session 18 the periodic pass ran at the first
    /// fault, reclaim step or write completion at or after its time, on whichever CPU was simulated then and charging it
    /// the folio_mkclean shootdowns; with swap readahead's lru_add_drain (4, true) gave pgmajfault 79,043 at batch 7 and
    /// 79,014 at batch 1 (the pass's tlb_flush run on CPU 1 against CPU 2).
    /// </summary>
    [TestCase(2, false)]
    [TestCase(4, true)]
    public void SharedFileWritersWithTheFlusher(int cpus, bool lruGen)
    {
        string yaml = FormattableString.Invariant($$$"""
            machine:
              ram: 4M
              swap: 16M
              seed: 5
              cpus: {{{cpus}}}
              writeback: async
              lru_gen: {enabled: {{{(lruGen ? "y" : "n")}}}}
              dirty_expire_centisecs: 0
              dirty_writeback_centisecs: 1
              quantum: 2000
            processes:
              - name: w1
                layout: {exec: {heap: 4M}}
                workload: {generator: "uniform:count=40000,pages=2048,writes=0.7,base=0x7f0000000000,seed=1"}
              - name: w2
                layout: {exec: {heap: 4M}}
                workload: {generator: "uniform:count=40000,pages=2048,writes=0.7,base=0x7f0000000000,seed=2"}
              - name: anon
                layout: {exec: {heap: 8M}}
                workload: {generator: "zipf:count=40000,pages=2048,alpha=0.6,writes=0.5,seed=3"}
            timeline:
              - at: 0
                process: w1
                mmap: {addr: 0x7f0000000000, length: 8M, prot: rw-, flags: shared, file: /data/big, fixed: true}
              - at: 0
                process: w2
                mmap: {addr: 0x7f0000000000, length: 8M, prot: rw-, flags: shared, file: /data/big, fixed: true}
            """);
        var runs = RunAtEveryBatchSize(ScenarioParser.Parse(new StringReader(yaml), "wb-flusher.yaml"));
        AssertCpus(runs[0].Report, cpus);
        // Non-trivial: file pages were dirtied and written by the flusher, anonymous pages by reclaim.
        Assert.That(runs[0].Dump, Does.Match(@"counter nr_dirtied [1-9]"));
        Assert.That(runs[0].Dump, Does.Match(@"counter nr_written [1-9]"));
        Assert.That(runs[0].Dump, Does.Match(@"counter nr_vmscan_write [1-9]"));
        AssertAllEqual(runs);
    }

    private static readonly int[] ReadaheadBatches = [1, 7, 64];

    /// <summary>
    /// Kit program swappiness-0 (a cold 16 MiB file read under a 16 MiB limit, oracle/programs) on several CPUs: its
    /// readahead fallback's reclaim rounds end the reads the disk completed meanwhile (Readahead.EndReadsCompletedBy, on
    /// the reclaimer's CPU and clock), and the same requests end there, and the run ends the same, at batch 1, 7 and 64.
    /// </summary>
    [TestCase(2)]
    [TestCase(4)]
    public void ReadsEndedInsideReclaim(int cpus)
    {
        var program = EcsMem.Oracle.PhaseProgram.LoadAll(Path.Combine(EcsMem.Oracle.Kit.OracleDir(TestContext.CurrentContext.TestDirectory), "programs"))
            .Single(p => p.Name == "swappiness-0");
        var sc = EcsMem.Oracle.ScenarioGenerator.Generate(new EcsMem.Oracle.ProgramPlan(program));
        string dir = Directory.CreateTempSubdirectory("ecsmem-raend-").FullName;
        try
        {
            string yaml = Path.Combine(dir, "swappiness-0.yaml");
            File.WriteAllText(yaml, sc.Yaml);
            File.WriteAllText(Path.Combine(dir, "swappiness-0.lackey"), sc.Trace);
            var ended = new List<long>();
            var runs = RunAtEveryBatchSize(WithCpus(ScenarioParser.ParseFile(yaml), cpus), ReadaheadBatches,
                m => ended.Add(m.Kernel.Readahead.ReadsEndedInReclaim));
            AssertCpus(runs[0].Report, cpus);
            // Non-trivial: reads ended inside reclaim rounds, the same number at every batch size.
            Assert.That(ended[0], Is.GreaterThan(0));
            Assert.That(ended, Is.All.EqualTo(ended[0]));
            AssertAllEqual(runs, ReadaheadBatches);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
