using System.Globalization;
using EcsMem.Diagnostics;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// <c>collect --add</c> (<see cref="Fixtures.WithRunsAdded"/>, <see cref="Fixtures.Union"/>): the union of an entry with
/// new runs' entry equals <see cref="Fixtures.Collect"/> over both run sets together, field for field (the fixtures
/// file's text), on session 26's two real 20-run sets of swap-anon-write and on a small hand-made pair whose union is
/// also worked out by hand; and the refusals (another kernel setting, other phase names).
/// </summary>
[TestFixture]
public class FixturesAddTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
    private string dir = "";

    [SetUp]
    public void MakeDir() => dir = Directory.CreateTempSubdirectory("ecsmem-fixtures-add-").FullName;

    [TearDown]
    public void RemoveDir() => Directory.Delete(dir, true);

    private string Sub(string name) => Directory.CreateDirectory(Path.Combine(dir, name)).FullName;

    private string Settings(string text)
    {
        string f = Path.Combine(dir, "settings-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(f, text);
        return f;
    }

    /// <summary>
    /// union(collect(A), collect(B)) with collect(A) read back from its fixtures file (as <c>collect --add</c> reads
    /// fixtures.json), and collect(A ∪ B) over one directory with B's runs numbered after A's.
    /// </summary>
    private (Fixtures Added, Fixtures Together) Both(string a, string b, string settings)
    {
        string file = Path.Combine(dir, "fixtures.json");
        File.WriteAllText(file, Fixtures.Collect(a, settings).ToJson());
        Fixtures added = Fixtures.Load(file).WithRunsAdded(Fixtures.Collect(b, settings));
        string u = Sub("u-" + Guid.NewGuid().ToString("N"));
        int na = 0;
        foreach (string f in Directory.GetFiles(a, "*.json"))
        {
            File.Copy(f, Path.Combine(u, Path.GetFileName(f)));
            na++;
        }
        foreach (string f in Directory.GetFiles(b, "*.json"))
        {
            string[] parts = Path.GetFileName(f).Split('.');
            long n = long.Parse(parts[^2], CultureInfo.InvariantCulture) + na;
            File.Copy(f, Path.Combine(u, $"{parts[0]}.{n.ToString(CultureInfo.InvariantCulture)}.json"));
        }
        return (added, Fixtures.Collect(u, settings));
    }

    [Test]
    public void Adding_session_26s_two_real_sets_gives_what_collecting_all_40_runs_gives()
    {
        string runs = Path.Combine(OracleDir, "experiments", "pgpg-start", "results", "session26-runs");
        string settings = Settings("uname_r=6.18.44-fc-v1272\nswappiness=60\n");
        var (added, together) = Both(Path.Combine(runs, "a"), Path.Combine(runs, "b"), settings);
        Assert.That(added.ToJson(), Is.EqualTo(together.ToJson()));
        ProgramFigures p = added.Find("swap-anon-write")!;
        Assert.Multiple(() =>
        {
            Assert.That(p.Runs, Is.EqualTo(40));
            Assert.That(p.HarnessKb, Has.Count.EqualTo(40));
            // session26.swap-anon-write.record.txt (runs.py over the raw runs): the fill's pgpgout since exec is
            // 4,376-4,424 in the first set and 4,380-4,435 in the second.
            Assert.That(p.Phases[0].PgpgExec["pgpgout"], Is.EqualTo(new Spread(4376, 4435)));
            Assert.That(p.Phases.Select(x => x.VmasStable), Is.All.True);
        });
    }

    /// <summary>A run of program q (two phases, one VMA in the first slot), as harness.h prints it with the swap and memcg readings.</summary>
    private static string Run(long minflt, long rss, long swap, long anonymous, string end, long pgpgin, long pgpgout, long pswpout, string vmflags, string second = "read") =>
        string.Create(CultureInfo.InvariantCulture, $$$"""
        {"program":"q","vmstat0":{"pswpin":0,"pswpout":0},"phases":[
        {"phase":"fill","minflt":{{{minflt}}},"majflt":1,"errors":[],"vmas":[{"start":"0x100000000000","end":"{{{end}}}","perms":"rw-p","offset":0,"name":"","rss_kb":{{{rss}}},"anon_kb":{{{rss}}},"swap_kb":{{{swap}}},"locked_kb":0,"smaps.Rss":{{{rss}}},"vmflags":"{{{vmflags}}}"}],"rollup":{"Anonymous":{{{anonymous}}},"Swap":{{{swap}}}},"memstat":{"pgpgin":{{{pgpgin}}},"pgpgout":{{{pgpgout}}}},"memcg":{"failcnt":0},"meminfo":{},"vmstat":{"pswpin":1,"pswpout":{{{pswpout}}}}},
        {"phase":"{{{second}}}","minflt":0,"majflt":40,"errors":[],"vmas":[{"start":"0x100000000000","end":"{{{end}}}","perms":"rw-p","offset":0,"name":"","rss_kb":{{{rss}}},"anon_kb":{{{rss}}},"swap_kb":{{{swap}}},"locked_kb":0,"smaps.Rss":{{{rss}}},"vmflags":"{{{vmflags}}}"}],"rollup":{"Anonymous":{{{anonymous}}},"Swap":{{{swap}}}},"memstat":{"pgpgin":{{{pgpgin + 40}}},"pgpgout":{{{pgpgout}}}},"memcg":{"failcnt":0},"meminfo":{},"vmstat":{"pswpin":41,"pswpout":{{{pswpout}}}}}],
        "main":{"cache":0,"rss":90112,"pgpgin":75,"pgpgout":50}}
        """);

    private const string Flags = "rd wr mr mw me ac";

    private (string A, string B) HandPair(string bEnd, string bFlags)
    {
        string a = Sub("a"), b = Sub("b");
        // A: two runs; B: one. The exec chain is 75 - 90,112/4,096 (22) - 0 = 53 events in every run.
        File.WriteAllText(Path.Combine(a, "q.1.json"), Run(8192, 100, 20, 956, "0x100000080000", 8490, 4440, 4300, Flags));
        File.WriteAllText(Path.Combine(a, "q.2.json"), Run(8194, 120, 0, 980, "0x100000080000", 8500, 4450, 4200, Flags));
        File.WriteAllText(Path.Combine(b, "q.1.json"), Run(8191, 90, 30, 946, bEnd, 8480, 4470, 5000, bFlags));
        return (a, b);
    }

    [Test]
    public void Adding_a_hand_made_run_widens_every_spread_and_concatenates_the_footprints()
    {
        var (a, b) = HandPair("0x100000080000", Flags + " nh");
        var (added, together) = Both(a, b, Settings("uname_r=6.18\n"));
        Assert.That(added.ToJson(), Is.EqualTo(together.ToJson()));
        ProgramFigures q = added.Find("q")!;
        PhaseFigures fill = q.Phases[0];
        Assert.Multiple(() =>
        {
            Assert.That(q.Runs, Is.EqualTo(3));
            // Anonymous + Swap less the slot VMA's anon + swap: 956 + 20 - 120, 980 - 120, 946 + 30 - 120.
            Assert.That(q.HarnessKb, Is.EqualTo(new long[] { 856, 860, 856 }));
            Assert.That(fill.MinFlt, Is.EqualTo(new Spread(8191, 8194)));
            Assert.That(fill.VmasStable, Is.True);
            Assert.That(fill.Vmas[0].RssKb, Is.EqualTo(new Spread(90, 120)));
            Assert.That(fill.Vmas[0].SwapKb, Is.EqualTo(new Spread(0, 30)));
            Assert.That(fill.Vmas[0].Smaps!["Rss"], Is.EqualTo(new Spread(90, 120)));
            Assert.That(fill.Vmas[0].VmFlags, Is.Null, "B's VmFlags differ from A's");
            // pgpgout − 53: 4,387, 4,397, 4,417; pgpgin − 53: 8,437, 8,447, 8,427.
            Assert.That(fill.PgpgExec["pgpgout"], Is.EqualTo(new Spread(4387, 4417)));
            Assert.That(fill.PgpgExec["pgpgin"], Is.EqualTo(new Spread(8427, 8447)));
            Assert.That(fill.Pswp["pswpout"], Is.EqualTo(new Spread(4200, 5000)));
            Assert.That(q.Phases[1].PgpgDelta["pgpgin"], Is.EqualTo(new Spread(40, 40)));
            Assert.That(q.Main["chain"], Is.EqualTo(new Spread(53, 53)));
        });
    }

    [Test]
    public void A_vma_of_another_shape_in_the_added_runs_makes_the_phase_unstable()
    {
        var (a, b) = HandPair("0x1000000a0000", Flags);
        var (added, together) = Both(a, b, Settings("uname_r=6.18\n"));
        Assert.That(added.ToJson(), Is.EqualTo(together.ToJson()));
        Assert.Multiple(() =>
        {
            Assert.That(added.Find("q")!.Phases.Select(p => p.VmasStable), Is.All.False);
            Assert.That(added.Find("q")!.Phases[0].Vmas, Is.Empty);
        });
    }

    [Test]
    public void Runs_under_another_kernel_setting_are_refused_but_another_date_is_not()
    {
        var (a, b) = HandPair("0x100000080000", Flags);
        Fixtures old = Fixtures.Collect(a, Settings("uname_r=6.18\nswappiness=60\nrecorded=2026-11-20\n"));
        var e = Assert.Throws<InputException>(() => old.WithRunsAdded(Fixtures.Collect(b, Settings("uname_r=6.18\nswappiness=100\nrecorded=2026-12-07\n"))))!;
        Assert.That(e.Message, Does.Contain("swappiness is '60' in fixtures.json but '100'"));
        Fixtures ok = old.WithRunsAdded(Fixtures.Collect(b, Settings("uname_r=6.18\nswappiness=60\nrecorded=2026-12-07\n")));
        Assert.That(ok.Kernel["recorded"], Is.EqualTo("2026-11-20"), "the fixtures' kernel block stays");
        var missing = Assert.Throws<InputException>(() => old.WithRunsAdded(Fixtures.Collect(b, Settings("uname_r=6.18\n"))))!;
        Assert.That(missing.Message, Does.Contain("swappiness is '60' in fixtures.json but '(none)'"));
    }

    [Test]
    public void Runs_with_other_phase_names_are_refused()
    {
        var (a, b) = HandPair("0x100000080000", Flags);
        File.WriteAllText(Path.Combine(b, "q.1.json"), Run(8191, 90, 30, 946, "0x100000080000", 8480, 4470, 5000, Flags, second: "write"));
        string s = Settings("uname_r=6.18\n");
        var e = Assert.Throws<InputException>(() => Fixtures.Collect(a, s).WithRunsAdded(Fixtures.Collect(b, s)))!;
        Assert.That(e.Message, Does.Contain("q's phases are fill,read in fixtures.json but fill,write in the runs"));
    }
}
