using System.Globalization;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The harness footprint a memcg scenario models (<see cref="ScenarioGenerator.HarnessKb"/>): each run's own figure,
/// kept by <see cref="Fixtures.Collect"/>, and their median, against values computed by hand on a small fixture whose
/// runs split the same pages differently between memory and swap (as the kernel's do), so that the runs' separate
/// minimums would mix into a figure no run had.
/// </summary>
[TestFixture]
public class HarnessStatisticTests
{
    private string dir = "";

    [SetUp]
    public void MakeDir() => dir = Directory.CreateTempSubdirectory("ecsmem-harness-stat-").FullName;

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, true);

    /// <summary>
    /// One run's record as harness.h prints it: a first phase with the program's region (a kit slot, 16 TiB) and the
    /// brk area's [heap] (8 kB, outside the slots: part of the harness's side, as in the scenario), and the rollup.
    /// </summary>
    private static string Run(long regionAnon, long regionSwap, long rollupAnon, long rollupSwap) => string.Create(CultureInfo.InvariantCulture,
        $$$"""
        {"program":"p","phases":[{"phase":"fill","minflt":1024,"majflt":2,"errors":[],"vmas":[
        {"start":"0x100000000000","end":"0x100000400000","perms":"rw-p","offset":0,"name":"","rss_kb":{{{regionAnon}}},"anon_kb":{{{regionAnon}}},"swap_kb":{{{regionSwap}}},"locked_kb":0},
        {"start":"0x555555559000","end":"0x55555555b000","perms":"rw-p","offset":0,"name":"[heap]","rss_kb":8,"anon_kb":8,"swap_kb":0,"locked_kb":0}],
        "rollup":{"Rss":{{{rollupAnon}}},"Anonymous":{{{rollupAnon}}},"Swap":{{{rollupSwap}}}},"memstat":{},"memcg":{},"meminfo":{}}]}
        """);

    /// <summary>
    /// Three runs of a 4 MiB region (4,096 kB written, resident or swapped) with, by hand:
    /// run 1: region 1,000 + 3,096 kB, harness 88 resident + 768 swapped, heap 8: rollup Anonymous 1,096, Swap 3,864 → 864;
    /// run 2: region 3,000 + 1,096, harness 76 + 780, heap 8: rollup 3,084 / 1,876 → 864;
    /// run 10: region 2,000 + 2,096, harness 88 + 772 (a stray page more), heap 8: rollup 2,096 / 2,868 → 868.
    /// </summary>
    private void WriteThreeRuns()
    {
        File.WriteAllText(Path.Combine(dir, "p.1.json"), Run(1000, 3096, 1096, 3864));
        File.WriteAllText(Path.Combine(dir, "p.2.json"), Run(3000, 1096, 3084, 1876));
        File.WriteAllText(Path.Combine(dir, "p.10.json"), Run(2000, 2096, 2096, 2868));
        File.WriteAllText(Path.Combine(dir, "settings.txt"), "uname_r=6.18\nruns=3\n");
    }

    [Test]
    public void Collect_keeps_each_runs_footprint_in_run_order()
    {
        WriteThreeRuns();
        Fixtures fx = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt"));
        ProgramFigures p = fx.Find("p")!;
        Assert.Multiple(() =>
        {
            Assert.That(p.Runs, Is.EqualTo(3));
            Assert.That(p.HarnessKb, Is.EqualTo(new long[] { 864, 864, 868 }), "runs 1, 2, 10 (10 after 2)");
            Assert.That(fx.Kernel.ContainsKey("runs"), Is.False, "the run count is each program's own");
            Assert.That(fx.Kernel["uname_r"], Is.EqualTo("6.18"));
        });
    }

    [Test]
    public void The_median_run_is_modelled_not_the_runs_mixed_minimums()
    {
        WriteThreeRuns();
        ProgramFigures p = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt")).Find("p")!;
        // The mixed minimums: Anonymous 1,096 (run 1) + Swap 1,876 (run 2) - region 1,000 (run 1) - 1,096 (run 2) = 876,
        // a figure no run had; the median of 864, 864, 868 is 864.
        Assert.That(ScenarioGenerator.HarnessKb(p), Is.EqualTo(864));
        Assert.That(ScenarioGenerator.HarnessKb(p with { HarnessKb = null }), Is.EqualTo(876), "a fixture without per-run figures");
        // An even count takes the lower middle run (a value some run had): sorted 860, 864, 864, 868 → 864; 852, 856 → 852.
        Assert.That(ScenarioGenerator.HarnessKb(p with { HarnessKb = [868, 864, 860, 864] }), Is.EqualTo(864));
        Assert.That(ScenarioGenerator.HarnessKb(p with { HarnessKb = [856, 852] }), Is.EqualTo(852));
        // More runs of the same harness do not move it: twenty runs of which two had a stray page.
        Assert.That(ScenarioGenerator.HarnessKb(p with { HarnessKb = [.. Enumerable.Repeat(864L, 18), 868, 860] }), Is.EqualTo(864));
    }

    [Test]
    public void The_per_run_figures_survive_the_fixtures_file_and_give_the_scenarios_harness_pages()
    {
        WriteThreeRuns();
        Fixtures fx = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt"));
        // A kit directory of its own: programs/p.phases and fixtures.json beside it, as HarnessPages finds them.
        string kit = Path.Combine(dir, "kit");
        Directory.CreateDirectory(Path.Combine(kit, "programs"));
        File.WriteAllText(Path.Combine(kit, "fixtures.json"), fx.ToJson());
        File.WriteAllText(Path.Combine(kit, "programs", "p.phases"),
            "describe a 4 MiB fill under a memcg\nmemcg 2M\nswap\nphase fill\nmmap a anon 4M rw private\ntouch a write\n");
        Fixtures loaded = Fixtures.Load(Path.Combine(kit, "fixtures.json"));
        Assert.That(loaded.Find("p")!.HarnessKb, Is.EqualTo(new long[] { 864, 864, 868 }));
        PhaseProgram prog = PhaseProgram.LoadAll(Path.Combine(kit, "programs")).Single();
        Assert.That(ScenarioGenerator.HarnessPages(prog), Is.EqualTo(864 / 4));
    }

    [Test]
    public void Every_memcg_fixture_has_its_runs_harness_figures()
    {
        // A fixture recorded before record.sh's `env -i` (c5db325) has no per-run harness_kb and ran under the recorder's
        // environment, whose strings at the stack's top make a stack page of harness footprint per 4 KiB; without them the
        // scenario falls back to the runs' mixed minimums. Session 16 re-recorded the last such memcg programs
        // (oracle/experiments/rerecord-env), so a memcg fixture without them is one recorded the old way.
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        var fixtures = Fixtures.Load(Path.Combine(oracle, "fixtures.json"));
        var memcg = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Where(x => x.MemcgLimit is not null).Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        var recorded = fixtures.Programs.Where(p => memcg.Contains(p.Name)).ToList();
        Assert.That(recorded.Select(p => p.Name), Is.EquivalentTo(memcg), "every memcg program recorded");
        Assert.That(recorded.Where(p => p.HarnessKb is null).Select(p => p.Name), Is.Empty);
    }
}
