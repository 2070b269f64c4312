using System.Globalization;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// <see cref="Fixtures.Collect"/>'s per-phase figures that need each run's own values: /proc/vmstat's pswpin and pswpout
/// over each phase (a swap program's <c>vmstat0</c> before the first phase and <c>vmstat</c> at each phase_end) and
/// memory.stat's pgpgin and pgpgout over each phase but the first, against differences worked out by hand; and that
/// they survive the fixtures file.
/// </summary>
[TestFixture]
public class SwapCountsCollectTests
{
    private string dir = "";

    [SetUp]
    public void MakeDir() => dir = Directory.CreateTempSubdirectory("ecsmem-swap-counts-").FullName;

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, true);

    /// <summary>A run's record as harness.h prints it with ORACLE_VMSTAT: the readings before and after two phases.</summary>
    private static string Run(long in0, long out0, long in1, long out1, long in2, long out2, long pgin1, long pgout1, long pgin2, long pgout2) =>
        string.Create(CultureInfo.InvariantCulture, $$$"""
        {"program":"p","vmstat0":{"pswpin":{{{in0}}},"pswpout":{{{out0}}}},"phases":[
        {"phase":"fill","minflt":8192,"majflt":1,"errors":[],"vmas":[],"rollup":{},"memstat":{"pgpgin":{{{pgin1}}},"pgpgout":{{{pgout1}}}},"memcg":{},"meminfo":{},"vmstat":{"pswpin":{{{in1}}},"pswpout":{{{out1}}}}},
        {"phase":"read","minflt":0,"majflt":4000,"errors":[],"vmas":[],"rollup":{},"memstat":{"pgpgin":{{{pgin2}}},"pgpgout":{{{pgout2}}}},"memcg":{},"meminfo":{},"vmstat":{"pswpin":{{{in2}}},"pswpout":{{{out2}}}}}]}
        """);

    [Test]
    public void Collect_takes_each_runs_differences_and_keeps_them_in_the_fixtures_file()
    {
        // Run 1: pswpin 1,000 → 1,002 → 9,002 (2 and 8,000), pswpout 500 → 4,600 → 12,700 (4,100 and 8,100);
        //        pgpgin 8,490 → 16,720 (8,230 over the read), pgpgout 4,440 → 12,670 (8,230).
        // Run 2: pswpin 9,100 → 9,100 → 17,105 (0 and 8,005), pswpout 12,800 → 16,890 → 25,000 (4,090 and 8,110);
        //        pgpgin 8,500 → 16,722 (8,222), pgpgout 4,500 → 12,700 (8,200).
        File.WriteAllText(Path.Combine(dir, "p.1.json"), Run(1000, 500, 1002, 4600, 9002, 12700, 8490, 4440, 16720, 12670));
        File.WriteAllText(Path.Combine(dir, "p.2.json"), Run(9100, 12800, 9100, 16890, 17105, 25000, 8500, 4500, 16722, 12700));
        File.WriteAllText(Path.Combine(dir, "settings.txt"), "uname_r=6.18\n");
        Fixtures fx = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt"));
        string file = Path.Combine(dir, "fixtures.json");
        File.WriteAllText(file, fx.ToJson());
        foreach (Fixtures f in new[] { fx, Fixtures.Load(file) })
        {
            ProgramFigures p = f.Find("p")!;
            Assert.Multiple(() =>
            {
                Assert.That(p.Phases[0].Pswp["pswpin"], Is.EqualTo(new Spread(0, 2)));
                Assert.That(p.Phases[0].Pswp["pswpout"], Is.EqualTo(new Spread(4090, 4100)));
                Assert.That(p.Phases[1].Pswp["pswpin"], Is.EqualTo(new Spread(8000, 8005)));
                Assert.That(p.Phases[1].Pswp["pswpout"], Is.EqualTo(new Spread(8100, 8110)));
                Assert.That(p.Phases[0].PgpgDelta, Is.Empty, "nothing is read before the first phase");
                Assert.That(p.Phases[1].PgpgDelta["pgpgin"], Is.EqualTo(new Spread(8222, 8230)));
                Assert.That(p.Phases[1].PgpgDelta["pgpgout"], Is.EqualTo(new Spread(8200, 8230)));
                Assert.That(p.Phases[1].MemStat["pgpgout"], Is.EqualTo(new Spread(12670, 12700)), "the cumulative spread as before");
            });
        }
    }

    [Test]
    public void Collect_counts_pgpg_from_the_programs_exec_with_the_main_reading()
    {
        // harness.h's main_entry_stat (a memcg program since session 22) prints memory.stat at main's entry last, as "main".
        // Run 1: at main pgpgin 75, pgpgout 49 (lagging), rss 22 pages, cache 0: the exec chain charged and uncharged
        //        75 - 22 - 0 = 53; at the fill's end pgpgin 8,490, pgpgout 4,440 → since exec 8,437 and 4,387.
        // Run 2: at main pgpgin 80, pgpgout 54, rss 22 pages, cache 5 pages: chain 80 - 22 - 5 = 53; at the fill's end
        //        8,500 and 4,500 → pgpgin 8,500 - 53 - 5 = 8,442 (the 5 page-cache pages charged before main are not
        //        the program's), pgpgout 4,500 - 53 = 4,447; at the read's end 16,722 and 12,700 → 16,664 and 12,647.
        //        Run 1's read: 16,720 - 53 = 16,667, 12,670 - 53 = 12,617.
        static string WithMain(string run, long cache, long rss, long pgpgin, long pgpgout) =>
            run.TrimEnd()[..^1] + string.Create(CultureInfo.InvariantCulture, $$$""","main":{"cache":{{{cache}}},"rss":{{{rss}}},"pgpgin":{{{pgpgin}}},"pgpgout":{{{pgpgout}}}}}""");
        File.WriteAllText(Path.Combine(dir, "p.1.json"), WithMain(Run(0, 0, 0, 0, 0, 0, 8490, 4440, 16720, 12670), 0, 22 * 4096, 75, 49));
        File.WriteAllText(Path.Combine(dir, "p.2.json"), WithMain(Run(0, 0, 0, 0, 0, 0, 8500, 4500, 16722, 12700), 5 * 4096, 22 * 4096, 80, 54));
        File.WriteAllText(Path.Combine(dir, "settings.txt"), "uname_r=6.18\n");
        Fixtures fx = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt"));
        string file = Path.Combine(dir, "fixtures.json");
        File.WriteAllText(file, fx.ToJson());
        foreach (Fixtures f in new[] { fx, Fixtures.Load(file) })
        {
            ProgramFigures p = f.Find("p")!;
            Assert.Multiple(() =>
            {
                Assert.That(p.Main["chain"], Is.EqualTo(new Spread(53, 53)));
                Assert.That(p.Main["pgpgout"], Is.EqualTo(new Spread(49, 54)), "reported as read");
                Assert.That(p.Phases[0].PgpgExec["pgpgin"], Is.EqualTo(new Spread(8437, 8442)));
                Assert.That(p.Phases[0].PgpgExec["pgpgout"], Is.EqualTo(new Spread(4387, 4447)));
                Assert.That(p.Phases[1].PgpgExec["pgpgin"], Is.EqualTo(new Spread(16664, 16667)));
                Assert.That(p.Phases[1].PgpgExec["pgpgout"], Is.EqualTo(new Spread(12617, 12647)));
            });
        }
    }

    [Test]
    public void A_program_recorded_without_the_readings_has_none()
    {
        File.WriteAllText(Path.Combine(dir, "p.1.json"), """
            {"program":"p","phases":[{"phase":"w","minflt":1,"majflt":0,"errors":[],"vmas":[],"rollup":{},"memstat":{},"memcg":{},"meminfo":{}},
            {"phase":"r","minflt":1,"majflt":0,"errors":[],"vmas":[],"rollup":{},"memstat":{},"memcg":{},"meminfo":{}}]}
            """);
        File.WriteAllText(Path.Combine(dir, "settings.txt"), "uname_r=6.18\n");
        Fixtures fx = Fixtures.Collect(dir, Path.Combine(dir, "settings.txt"));
        ProgramFigures p = fx.Find("p")!;
        Assert.That(p.Phases.SelectMany(ph => ph.Pswp.Concat(ph.PgpgDelta).Concat(ph.PgpgExec)).Concat(p.Main), Is.Empty);
        Assert.That(fx.ToJson(), Does.Not.Contain("pswp").And.Not.Contain("pgpg_delta").And.Not.Contain("pgpg_exec").And.Not.Contain("\"main\""),
            "such a program's entry is written as before");
    }
}
