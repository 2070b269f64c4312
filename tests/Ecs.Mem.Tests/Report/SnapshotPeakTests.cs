using System.Globalization;
using System.Text;
using System.Text.Json;
using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Report;

/// <summary>
/// <c>--snapshot peak</c>: the machine at the first moment of least free memory, the same bytes at any batch size
/// and CPU count's batch sizes, with MemFree equal to the minimum a batch-1 run shows after every access.
/// </summary>
public class SnapshotPeakTests
{
    // Two processes and a fork child writing more than the 1 MiB machine holds: reclaim and swap-out run, so free
    // memory falls and rises again many times before its lowest point.
    private const string PressureYaml = """
        machine:
          ram: 1M
          swap: 4M
          cpus: CPUS
        processes:
          - name: a
            layout: {exec: {heap: 1M}}
            workload: {generator: "uniform:count=6000,pages=200,writes=0.6,seed=3"}
            children: {count: 1, after: 2000, workload: {generator: "uniform:count=3000,pages=120,writes=0.5,seed=4"}}
          - name: b
            start: 200000
            layout: {exec: {heap: 512K}}
            workload: {generator: "loop:count=5000,pages=110,writes=0.5"}
        """;

    private static Scenario Pressure(int cpus) =>
        ScenarioParser.Parse(new StringReader(PressureYaml.Replace("CPUS", cpus.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)), "pressure.yaml");

    /// <summary>The run as the CLI does it: the measured run with its recorder, then the second run to the peak.</summary>
    private static Snapshot PeakOf(Scenario s, int batch)
    {
        using SimMachine m = ScenarioLoader.Build(s, batch);
        var recorder = new SnapshotRecorder(m, [SnapshotWhen.Peak]);
        recorder.Start();
        m.Run(progress: _ => recorder.AfterTick(), checkEvery: 1);
        Assert.That(m.Finished, Is.True);
        using SimMachine again = ScenarioLoader.Build(s, batch);
        return recorder.Finish(SnapshotRecorder.CapturePeak(again, recorder.Peak()))[0];
    }

    private static string Text(Snapshot s)
    {
        var sb = new StringBuilder();
        SnapshotFormat.AppendText(sb, [s]);
        return sb.ToString();
    }

    private static long MemFreeKb(Snapshot s) => s.MemInfo.Single(v => v.Name == "MemFree").Value;

    /// <summary>
    /// The reference, computed apart from the allocator's minimum tracking: a batch-1 run (one access per tick)
    /// sampled at every tick boundary, i.e. after every access and after every event: the least free count and
    /// the completed accesses when it was first seen.
    /// </summary>
    private static (long FreePages, long Accesses) SampledMinimum(Scenario s)
    {
        using SimMachine m = ScenarioLoader.Build(s, 1);
        long min = m.Kernel.Zone.Buddy.NrFreePages, at = 0;
        m.Run(progress: x =>
        {
            long free = x.Kernel.Zone.Buddy.NrFreePages;
            if (free < min)
            {
                min = free;
                at = x.Access.CompletedAccesses;
            }
        }, checkEvery: 1);
        return (min, at);
    }

    [TestCase(1)]
    [TestCase(2)]
    public void PeakIsTheSameBytesAtBatch1And7And4096(int cpus)
    {
        Scenario s = Pressure(cpus);
        string one = Text(PeakOf(s, 1));
        Assert.That(one, Does.StartWith("\n== snapshot at peak (t="));
        Assert.That(one, Does.Contain("-- /proc/zoneinfo --"));
        Assert.That(Text(PeakOf(s, 7)), Is.EqualTo(one), "batch 7");
        Assert.That(Text(PeakOf(s, 4096)), Is.EqualTo(one), "batch 4096");
    }

    [TestCase(1)]
    [TestCase(2)]
    public void MemFreeAtPeakIsTheLeastFreeMemoryOfABatchOneRunSampledAfterEveryAccess(int cpus)
    {
        Scenario s = Pressure(cpus);
        var (minPages, minAt) = SampledMinimum(s);
        Snapshot peak = PeakOf(s, 4096);
        Assert.That(peak.Reached, Is.True);
        Assert.That(minPages, Is.LessThan(256 / 2), "the scenario does put the machine under pressure");
        Assert.That(MemFreeKb(peak), Is.EqualTo(minPages * 4), "MemFree = the sampled minimum, in kB");
        // First reached in the tick that completes access minAt: the recorder notes the completed accesses at the
        // allocation that reached it, minAt - 1 when that allocation came before the tick's access completed (1 CPU since
        // session 24's lru_add batch reference: 2,000 against 2,001, the same 18 free pages, 13 folios in the batch).
        Assert.That(peak.Accesses, Is.InRange(minAt - 1, minAt), "first reached in the same tick");
        Assert.That(peak.Peak!.FreePages, Is.EqualTo(minPages));
        Assert.That(peak.Peak.AtStart, Is.False);
        // The other /proc views agree with MemFree at that moment.
        Assert.That(peak.VmStat.Single(v => v.Name == "nr_free_pages").Value, Is.EqualTo(minPages));
        Assert.That(peak.ZoneInfo!.Free, Is.EqualTo(minPages));
        Assert.That(peak.BuddyFree.Select((n, order) => n << order).Sum(), Is.EqualTo(minPages), "buddyinfo adds up to the free pages");
        Assert.That(peak.Processes, Is.Not.Empty, "the address spaces are there, unlike at the end");
    }

    [Test]
    public void ARunStoppedBeforeItsFirstTickHasItsPeakBeforeTheFirstTick()
    {
        // Any access allocates at least a page table, so only a run stopped before its first tick (a signal during
        // start-up) never goes below the free memory the machine was built with: the peak is then the machine as built.
        const string yaml = """
            machine: {ram: 1M, swap: 0}
            processes:
              - name: reader
                layout: {exec: {heap: 64K}}
                workload: {generator: "uniform:count=50,pages=16,writes=0"}
            """;
        Scenario s = ScenarioParser.Parse(new StringReader(yaml), "reader.yaml");
        using SimMachine m = ScenarioLoader.Build(s);
        var recorder = new SnapshotRecorder(m, [SnapshotWhen.Peak]);
        recorder.Start();
        PeakPoint point = recorder.Peak();
        Assert.That(point.AtStart, Is.True);
        using SimMachine again = ScenarioLoader.Build(s);
        Snapshot peak = SnapshotRecorder.CapturePeak(again, point);
        Assert.That(peak.Accesses, Is.EqualTo(0));
        Assert.That(peak.Cycles, Is.EqualTo(0));
        // 256 pages less the shared zero page and the page of the process's PGD (pgd_alloc when exec built the mm).
        Assert.That(peak.Processes.Single().Mm.Pgd, Is.GreaterThanOrEqualTo(0));
        Assert.That(MemFreeKb(peak), Is.EqualTo(254 * 4));
        Assert.That(Text(peak), Does.Contain("before the first tick: no allocation of the run went lower"));
        Assert.That(peak.Processes.Single().SmapsRollup!.Fields.Single(f => f.Name == "Rss").Value, Is.EqualTo(0));
    }

    [Test]
    public void DefaultRunShowsThePeakSnapshotAfterAnUnchangedReport()
    {
        var (c0, plain, e0) = ReportTestFiles.Run("run", "--batch", "4096");
        Assert.That(c0, Is.EqualTo(0), e0);
        var (c1, asked, e1) = ReportTestFiles.Run("run", "--batch", "4096", "--snapshot", "peak");
        Assert.That(c1, Is.EqualTo(0), e1);
        Assert.That(asked, Is.EqualTo(plain), "no --snapshot means --snapshot peak");
        var (c2, atEnd, e2) = ReportTestFiles.Run("run", "--batch", "4096", "--snapshot", "end");
        Assert.That(c2, Is.EqualTo(0), e2);
        // Everything before the snapshot section is the report as it was; the default adds peak, --snapshot end replaces it.
        int p = plain.IndexOf("\n== snapshot at peak (t=", StringComparison.Ordinal);
        int q = atEnd.IndexOf("\n== snapshot at end (t=", StringComparison.Ordinal);
        Assert.That(p, Is.GreaterThan(0));
        Assert.That(plain[..p], Is.EqualTo(atEnd[..q]));
        Assert.That(atEnd, Does.Not.Contain("snapshot at peak"));
        // The section's header names the least free memory in pages; its /proc/meminfo shows the same in kB (that this
        // is the true minimum of a batch-1 run sampled every tick is MemFreeAtPeakIsTheLeastFreeMemoryOfABatchOneRunSampledAfterEveryAccess's subject).
        var least = System.Text.RegularExpressions.Regex.Match(plain[p..], @"least free memory: (\d+) pages, (\d+) kB");
        Assert.That(least.Success, Is.True);
        long leastPages = long.Parse(least.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(long.Parse(least.Groups[2].Value, CultureInfo.InvariantCulture), Is.EqualTo(leastPages * 4));
        Assert.That(plain[p..], Does.Contain($"\nMemFree:        {leastPages * 4,8} kB\n"));
        Assert.That(plain[p..], Does.Contain("-- /proc/1/smaps_rollup --"));

        var (c3, json, e3) = ReportTestFiles.Run("run", "--batch", "4096", "--json");
        Assert.That(c3, Is.EqualTo(0), e3);
        using var doc = JsonDocument.Parse(json);
        JsonElement s = doc.RootElement.GetProperty("snapshots")[0];
        Assert.That(s.GetProperty("when").GetString(), Is.EqualTo("peak"));
        Assert.That(s.GetProperty("peak").GetProperty("free_pages").GetInt64(), Is.EqualTo(leastPages));
        Assert.That(s.GetProperty("meminfo").GetProperty("MemFree").GetInt64(), Is.EqualTo(leastPages * 4));
        Assert.That(s.GetProperty("vmstat").GetProperty("nr_free_pages").GetInt64(), Is.EqualTo(leastPages));
        Assert.That(s.GetProperty("zoneinfo").GetProperty("pages_free").GetInt64(), Is.EqualTo(leastPages));
        JsonElement rollup = s.GetProperty("processes")[0].GetProperty("smaps_rollup");
        Assert.That(rollup.GetProperty("header").GetString(), Does.EndWith(" [rollup]"));
        // The database's pages are all private anonymous: Rss = Pss = Anonymous = rss_anon x 4 kB.
        long rssAnon = s.GetProperty("processes")[0].GetProperty("mm_struct").GetProperty("rss_anon").GetInt64();
        Assert.That(rollup.GetProperty("Rss").GetInt64(), Is.EqualTo(rssAnon * 4));
        Assert.That(rollup.GetProperty("Pss").GetInt64(), Is.EqualTo(rssAnon * 4));
        Assert.That(rollup.GetProperty("Anonymous").GetInt64(), Is.EqualTo(rssAnon * 4));
        long swapEnts = s.GetProperty("processes")[0].GetProperty("mm_struct").GetProperty("swap_ents").GetInt64();
        Assert.That(rollup.GetProperty("Swap").GetInt64(), Is.EqualTo(swapEnts * 4));
    }

    [Test]
    public void PeakWithAWarmupIsTakenFromTheSameRun()
    {
        // The warm-up resets the counters in both runs at the same point, so the vmstat events at the peak count from
        // there: pgfault at the peak with --warmup 5000 = pgfault at the peak without it - pgfault at 5000 accesses.
        var (c0, full, e0) = ReportTestFiles.Run("run", "--json", "--snapshot", "5000a,peak");
        Assert.That(c0, Is.EqualTo(0), e0);
        var (c1, warm, e1) = ReportTestFiles.Run("run", "--json", "--warmup", "5000", "--snapshot", "5000a,peak");
        Assert.That(c1, Is.EqualTo(0), e1);
        using var a = JsonDocument.Parse(full);
        using var b = JsonDocument.Parse(warm);
        JsonElement full5000 = a.RootElement.GetProperty("snapshots")[0], fullPeak = a.RootElement.GetProperty("snapshots")[1];
        JsonElement warm5000 = b.RootElement.GetProperty("snapshots")[0], warmPeak = b.RootElement.GetProperty("snapshots")[1];
        Assert.That(warmPeak.GetProperty("accesses").GetInt64(), Is.EqualTo(fullPeak.GetProperty("accesses").GetInt64()));
        Assert.That(warmPeak.GetProperty("meminfo").GetProperty("MemFree").GetInt64(),
            Is.EqualTo(fullPeak.GetProperty("meminfo").GetProperty("MemFree").GetInt64()));
        long Faults(JsonElement s) => s.GetProperty("vmstat").GetProperty("pgfault").GetInt64();
        Assert.That(Faults(warm5000), Is.EqualTo(0), "reset at 5000 accesses");
        Assert.That(Faults(full5000), Is.GreaterThan(0));
        Assert.That(Faults(warmPeak), Is.EqualTo(Faults(fullPeak) - Faults(full5000)));
    }

    [Test]
    public void ATraceFromAFifoCannotBeReadAgainSoThePeakSaysWhy()
    {
        Assume.That(OperatingSystem.IsLinux());
        using var f = new ReportTestFiles();
        string fifo = f.PathOf("trace.fifo");
        var psi = new System.Diagnostics.ProcessStartInfo("mkfifo") { ArgumentList = { fifo } };
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.Zero, "mkfifo");
        }
        var writer = Task.Run(() => File.WriteAllText(fifo, " S 10000000,8\n S 10001000,8\n L 10000000,8\n"));
        var (code, text, err) = ReportTestFiles.Run("run", "--trace", fifo, "--trace-format", "lackey");
        Assert.That(writer.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(text, Does.EndWith($"\n== snapshot at peak (not taken: the trace {fifo} is not a regular file (a pipe?) and cannot be read again for the second run the peak needs) ==\n"));
        // Other moments are taken in the one run, so they work from a pipe.
        var writer2 = Task.Run(() => File.WriteAllText(fifo, " S 10000000,8\n S 10001000,8\n L 10000000,8\n"));
        var (code2, text2, err2) = ReportTestFiles.Run("run", "--trace", fifo, "--trace-format", "lackey", "--snapshot", "2a");
        Assert.That(writer2.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(code2, Is.EqualTo(0), err2);
        Assert.That(text2, Does.Contain("== snapshot at 2a (t="));
    }

    [Test]
    public void SnapshotNoneGivesTheReportWithoutAnySnapshot()
    {
        var (c0, plain, e0) = ReportTestFiles.Run("run", "--batch", "4096");
        Assert.That(c0, Is.EqualTo(0), e0);
        var (c1, none, e1) = ReportTestFiles.Run("run", "--batch", "4096", "--snapshot", "none");
        Assert.That(c1, Is.EqualTo(0), e1);
        Assert.That(none, Is.EqualTo(plain[..plain.IndexOf("\n== snapshot at peak (t=", StringComparison.Ordinal)]));
        var (c2, json, e2) = ReportTestFiles.Run("run", "--batch", "4096", "--snapshot", "none", "--json");
        Assert.That(c2, Is.EqualTo(0), e2);
        Assert.That(json, Does.Not.Contain("\"snapshots\""));
        var (c3, text, err) = ReportTestFiles.Run("run", "--snapshot", "none,end");
        Assert.That(c3, Is.EqualTo(2));
        Assert.That(text, Is.Empty);
        Assert.That(err.Trim(), Does.Contain("--snapshot none cannot be combined with other moments"));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
