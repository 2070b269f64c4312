using System.Globalization;
using System.Text.RegularExpressions;
using EcsMem.Cli;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Tests.ScaleOut;
using EcsMem.Tests.Traces;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

/// <summary>
/// <c>run --cachegrind --cachegrind-out-file F</c>: Cachegrind's output file, per instruction address, whose totals
/// equal the printed summary, read by Valgrind's own cg_annotate and cg_diff (Debian's valgrind package).
/// </summary>
public class CachegrindOutFileTests
{
    private static readonly string[] Tools = ["/usr/bin/cg_annotate", "/usr/bin/cg_diff"];

    [Test]
    public void EventsAreChargedToTheInstructionThatCausedThem()
    {
        var sim = new CachegrindSimulator(new World(), CachegrindConfig.Seed);
        var profile = new CachegrindProfile(sim);
        profile.Run([
            new MemoryAccess(0x1000, 0, 4, AccessKind.Instr), new MemoryAccess(0x8000, 0, 8, AccessKind.Load),
            new MemoryAccess(0x1004, 0, 4, AccessKind.Instr), new MemoryAccess(0x8000, 0, 8, AccessKind.Store),
            new MemoryAccess(0x1000, 0, 4, AccessKind.Instr), new MemoryAccess(0x9000, 0, 8, AccessKind.Modify),
        ]);
        // By hand: 0x1000's first fetch misses I1 and LL (cold), its second hits; its load of 0x8000 and its modify
        // of 0x9000 are two cold data reads. 0x1004 shares 0x1000's line (hit); its store to 0x8000 hits D1.
        var a = profile.CostOf(0x1000);
        Assert.That((a.Ir, a.I1mr, a.ILmr, a.Dr, a.D1mr, a.DLmr, a.Dw, a.D1mw, a.DLmw), Is.EqualTo((2L, 1L, 1L, 2L, 2L, 2L, 0L, 0L, 0L)));
        var b = profile.CostOf(0x1004);
        Assert.That((b.Ir, b.I1mr, b.ILmr, b.Dr, b.D1mr, b.DLmr, b.Dw, b.D1mw, b.DLmw), Is.EqualTo((1L, 0L, 0L, 0L, 0L, 0L, 1L, 0L, 0L)));
        Assert.That(profile.Instructions, Is.EqualTo(2));
    }

    [Test]
    public void DescriptionLinesAreCachegrinds()
    {
        // Recorded from valgrind-3.19 --tool=cachegrind --I1=8192,1,64 --D1=8192,128,64 on this machine.
        Assert.That(CachegrindProfile.Desc("I1", CacheGeometry.Create(8192, 1, 64, "t", 0, "I1")),
            Is.EqualTo("desc: I1 cache:         8192 B, 64 B, direct-mapped\n"));
        Assert.That(CachegrindProfile.Desc("D1", CacheGeometry.Create(8192, 128, 64, "t", 0, "D1")),
            Is.EqualTo("desc: D1 cache:         8192 B, 64 B, 128-way associative\n"));
        Assert.That(CachegrindProfile.Desc("LL", CacheGeometry.Create(536870912, 2, 64, "t", 0, "LL")),
            Is.EqualTo("desc: LL cache:         536870912 B, 64 B, 2-way associative\n"));
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>The 9 event counts in Cachegrind's order from the printed summary (I refs, I1, LLi; D refs rd, wr; ...).</summary>
    private static long[] PrintedTotals(string summary)
    {
        long N(string label, int index)
        {
            string line = summary.Split('\n').First(l => l.StartsWith(label, StringComparison.Ordinal));
            var nums = Regex.Matches(line[(line.IndexOf(':') + 1)..], @"\d[\d,]*").Select(m => long.Parse(m.Value.Replace(",", ""), CultureInfo.InvariantCulture)).ToArray();
            return nums[index];
        }
        return [N("I   refs:", 0), N("I1  misses:", 0), N("LLi misses:", 0), N("D   refs:", 1), N("D1  misses:", 1), N("LLd misses:", 1),
            N("D   refs:", 2), N("D1  misses:", 2), N("LLd misses:", 2)];
    }

    private static long[] Numbers(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => long.Parse(v.Replace(",", ""), CultureInfo.InvariantCulture)).ToArray();

    private static string Trace => Path.Combine(CachegrindAgreementTests.SamplesDir(), "sort.lackey.gz");

    [Test]
    public void OutFileTotalsEqualTheSummaryAndCgAnnotateReadsThem()
    {
        using var dir = new TempDir();
        string outFile = dir.File("cachegrind.out.1");
        var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", Trace, "--cachegrind-out-file", outFile);
        Assert.That(code, Is.EqualTo(0), stderr);
        long[] printed = PrintedTotals(stdout);
        string[] lines = File.ReadAllLines(outFile);
        Assert.That(lines[0..5].Select(l => l.Split(':')[0]), Is.EqualTo(new[] { "desc", "desc", "desc", "cmd", "events" }));
        Assert.That(lines[4], Is.EqualTo("events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw "));
        Assert.That(lines[5], Is.EqualTo("fl=???"));
        long[] summary = Numbers(lines[^1]["summary: ".Length..]);
        Assert.That(summary, Is.EqualTo(printed));
        // The cost lines, summed independently, give the same totals; one fn per instruction address, increasing.
        var sum = new long[9];
        var addresses = new List<ulong>();
        for (int i = 6; i < lines.Length - 1; i += 2)
        {
            Assert.That(lines[i], Does.StartWith("fn=0x"));
            addresses.Add(ulong.Parse(lines[i][5..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            long[] c = Numbers(lines[i + 1]);
            Assert.That(c[0], Is.Zero, "line number");
            for (int k = 0; k < 9; k++) sum[k] += c[k + 1];
        }
        Assert.That(sum, Is.EqualTo(printed));
        Assert.That(addresses, Is.Ordered.And.Unique);
        Assert.That(dir.Names(), Is.EqualTo(new[] { "cachegrind.out.1" }));

        Assume.That(File.Exists(Tools[0]), "Valgrind's cg_annotate is not installed");
        var (acode, annotated, aerr) = EcsmemProcess.Run(dir.Path, null, 120, Tools[0], outFile);
        Assert.That(acode, Is.EqualTo(0), aerr);
        Assert.That(aerr, Does.Not.Contain("WARNING"));
        string totals = annotated.Split('\n').Single(l => l.EndsWith("PROGRAM TOTALS", StringComparison.Ordinal));
        long[] fromTool = Regex.Matches(totals, @"(\d[\d,]*) \(").Select(m => long.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture)).ToArray();
        Assert.That(fromTool, Is.EqualTo(printed));
    }

    [Test]
    public void CgDiffOfTwoGeometriesIsTheDifferenceOfTheirTotals()
    {
        Assume.That(File.Exists(Tools[1]), "Valgrind's cg_diff is not installed");
        using var dir = new TempDir();
        var (c1, o1, e1) = Run("run", "--cachegrind", "--trace", Trace, "--cachegrind-out-file", dir.File("a.out"));
        var (c2, o2, e2) = Run("run", "--cachegrind", "--trace", Trace, "--I1", "8192,2,32", "--D1", "8192,4,32", "--LL", "131072,8,64",
            "--cachegrind-out-file", dir.File("b.out"));
        Assert.That((c1, c2), Is.EqualTo((0, 0)), e1 + e2);
        var (code, diff, err) = EcsmemProcess.Run(dir.Path, null, 120, Tools[1], dir.File("a.out"), dir.File("b.out"));
        Assert.That(code, Is.EqualTo(0), err);
        long[] a = PrintedTotals(o1), b = PrintedTotals(o2);
        string summary = diff.Split('\n').Single(l => l.StartsWith("summary:", StringComparison.Ordinal));
        Assert.That(Numbers(summary["summary:".Length..]), Is.EqualTo(a.Zip(b, (x, y) => y - x).ToArray()));
        Assert.That(a[1], Is.LessThan(b[1]), "the small I1 misses more");
        File.WriteAllText(dir.File("diff.out"), diff);
        var (acode, _, aerr) = EcsmemProcess.Run(dir.Path, null, 120, Tools[0], dir.File("diff.out"));
        Assert.That(acode, Is.EqualTo(0), aerr);
    }
}
