using System.Globalization;
using EcsMem.Cli;
using EcsMem.Cli.Commands;
using EcsMem.Diagnostics;
using EcsMem.Tests.Perf;

namespace EcsMem.Tests.ScaleOut;

/// <summary>
/// Sharded sweeps without a cluster: the slicing (every cell in exactly one shard), the shard index taken from a
/// Slurm or Kubernetes environment, parts merged back into the unsharded sweep's bytes, and merge's refusals.
/// </summary>
public class ShardTests() : TwoTraceFixture((21, 150, 6_000), (22, 50, 3_000), "shard")
{
    private string P(string name) => Path.Combine(Dir, name);

    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        k => vars.FirstOrDefault(v => v.Key == k).Value;

    [Test]
    public void ShardsCoverEveryCellExactlyOnceAndDifferByAtMostOneCell()
    {
        // Checked against a different construction: cell c belongs to the shard s with s·C < (c+1)·N ≤ (s+1)·C.
        foreach (int traces in new[] { 1, 3 })
            foreach (int frames in new[] { 1, 7 })
                foreach (int n in new[] { 1, 2, 3, 5, 8, 21, 100 })
                {
                    var grid = new SweepGrid(Enumerable.Range(0, traces).Select(i => $"t{i}").ToArray(), null, ["lru", "fifo"],
                        Enumerable.Range(1, frames).ToArray(), 1, true);
                    long c = grid.Cells;
                    var sizes = new List<long>();
                    long next = 0;
                    for (int s = 0; s < n; s++)
                    {
                        var (first, end) = grid.ShardRange(s, n);
                        Assert.That(first, Is.EqualTo(next), $"shard {s}/{n} starts where {s - 1} ended");
                        for (long cell = first; cell < end; cell++)
                            Assert.That(s * c < (cell + 1) * n && (cell + 1) * n <= (s + 1) * c, Is.True, $"cell {cell} in shard {s}/{n}");
                        sizes.Add(end - first);
                        next = end;
                    }
                    Assert.That(next, Is.EqualTo(c));
                    Assert.That(sizes.Max() - sizes.Min(), Is.LessThanOrEqualTo(1));
                }
    }

    [Test]
    public void ShardIndexComesFromSlurmOrKubernetes()
    {
        var none = Env();
        Assert.That(ShardSpec.Parse("3/8", none), Is.EqualTo(new ShardSpec(3, 8)));
        // --array=0-7: the task id is the index.
        Assert.That(ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "8"), ("SLURM_ARRAY_TASK_MIN", "0"))),
            Is.EqualTo(new ShardSpec(5, 8)));
        // --array=1-8 and --array=10-24:2 (8 tasks: 10, 12, ..., 24).
        Assert.That(ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "8"), ("SLURM_ARRAY_TASK_MIN", "1"))),
            Is.EqualTo(new ShardSpec(0, 8)));
        Assert.That(ShardSpec.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "24"), ("SLURM_ARRAY_TASK_COUNT", "8"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_STEP", "2"))),
            Is.EqualTo(new ShardSpec(7, 8)));
        // A Kubernetes Indexed Job: the index from the environment, the count (completions) from auto/N.
        Assert.That(ShardSpec.Parse("auto/6", Env(("JOB_COMPLETION_INDEX", "4"))), Is.EqualTo(new ShardSpec(4, 6)));

        Assert.That(() => ShardSpec.Parse("auto", none), Throws.TypeOf<InputException>().With.Message.Contains("SLURM_ARRAY_TASK_ID"));
        Assert.That(() => ShardSpec.Parse("auto", Env(("JOB_COMPLETION_INDEX", "1"))), Throws.TypeOf<InputException>().With.Message.Contains("auto/N"));
        Assert.That(() => ShardSpec.Parse("8/8", none), Throws.TypeOf<InputException>().With.Message.Contains("not below the shard count 8"));
        Assert.That(() => ShardSpec.Parse("auto/4", Env(("JOB_COMPLETION_INDEX", "4"))), Throws.TypeOf<InputException>());
        Assert.That(() => ShardSpec.Parse("2", none), Throws.TypeOf<InputException>().With.Message.Contains("I/N"));
        Assert.That(() => ShardSpec.Parse("-1/3", none), Throws.TypeOf<InputException>());
    }

    /// <summary>Runs every shard of <paramref name="n"/> and returns their part files.</summary>
    private List<string> Shards(int n, params string[] sweep)
    {
        var parts = new List<string>();
        for (int i = 0; i < n; i++)
        {
            string part = P($"p{n}-{i}.json");
            var r = Cli([.. sweep, "--shard", $"{i}/{n}", "--part", part, "--threads", (1 + (i % 3)).ToString(CultureInfo.InvariantCulture)]);
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            parts.Add(part);
        }
        return parts;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void MergedPartsEqualTheUnshardedSweepByteForByte(bool noStackDistance)
    {
        string[] sweep = ["sweep", A, B, "--frames", "5:60:5,100", "--policies", "lru,fifo,clock,opt,random", "--seed", "7"];
        if (noStackDistance) sweep = [.. sweep, "--no-stack-distance"];
        var whole = Cli([.. sweep, "-o", P("whole")]);
        Assert.That(whole.Code, Is.EqualTo(0), whole.Err);
        // 2 traces × 5 policies × 13 frame counts = 130 cells; 1 shard, uneven splits, and more shards than a curve.
        foreach (int n in new[] { 1, 4, 7, 130, 150 })
        {
            List<string> parts = Shards(n, sweep);
            parts.Reverse(); // merge does not depend on the order of its arguments
            var merged = Cli(["merge", .. parts, "-o", P($"merged{n}")]);
            Assert.That(merged.Code, Is.EqualTo(0), merged.Err);
            Assert.That(merged.Out, Is.EqualTo(whole.Out), $"table, {n} shards");
            foreach (string ext in new[] { "csv", "json", "png" })
                Assert.That(File.ReadAllBytes(P($"merged{n}.{ext}")), Is.EqualTo(File.ReadAllBytes(P("whole." + ext))), $"{ext}, {n} shards");
        }
        Assert.That(File.ReadAllLines(P("whole.csv")), Has.Length.EqualTo(1 + 130));
    }

    [Test]
    public void AShardReadsOnlyTheTracesOfItsCells()
    {
        // Shard 0/2 of two traces × 1 policy × 2 frames is trace a's two cells: trace b may be absent on its node.
        string gone = P("absent.pages");
        var r = Cli("sweep", A, gone, "--frames", "10,20", "--policies", "fifo", "--shard", "0/2", "--part", P("p.json"));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var second = Cli("sweep", A, gone, "--frames", "10,20", "--policies", "fifo", "--shard", "1/2", "--part", P("q.json"));
        Assert.That(second.Code, Is.EqualTo(2));
        Assert.That(second.Err, Does.Contain("absent.pages").And.Contain("trace file not found"));
        Assert.That(File.Exists(P("q.json")), Is.False);
    }

    [Test]
    public void MergeNamesMissingCellsWithTheirShardAndDuplicatesWithTheirFiles()
    {
        // 2 traces × 2 policies × 3 frames = 12 cells in 4 shards of 3: shard 2 is cells 6..8 = trace b, lru, all frames.
        string[] sweep = ["sweep", A, B, "--frames", "10,20,30", "--policies", "lru,fifo"];
        List<string> parts = Shards(4, sweep);
        var missing = Cli("merge", parts[0], parts[1], parts[3], "-o", P("m"));
        Assert.That(missing.Code, Is.EqualTo(2));
        Assert.That(missing.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(missing.Err, Does.Contain($"3 missing cell(s): 6-8 (shard 2/4: {B} lru 10 .. {B} lru 30)"));
        Assert.That(File.Exists(P("m.csv")) || File.Exists(P("m.json")) || File.Exists(P("m.png")), Is.False);

        File.Copy(parts[1], P("copy.json"));
        var twice = Cli("merge", parts[0], parts[1], parts[2], parts[3], P("copy.json"));
        Assert.That(twice.Code, Is.EqualTo(2));
        Assert.That(twice.Err, Does.Contain($"3 duplicate cell(s): 3-5 in both '{parts[1]}' and '{P("copy.json")}'"));
    }

    [Test]
    public void MergeRefusesPartsOfAnotherSweepOrAnotherTraceOrATruncatedPart()
    {
        string[] sweep = ["sweep", A, "--frames", "10,20", "--policies", "fifo"];
        List<string> parts = Shards(2, sweep);
        var other = Cli("sweep", A, "--frames", "10,20", "--policies", "fifo", "--seed", "2", "--shard", "1/2", "--part", P("seed2.json"));
        Assert.That(other.Code, Is.EqualTo(0), other.Err);
        var r = Cli("merge", parts[0], P("seed2.json"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("seed2.json").And.Contain("different sweep").And.Contain("seed"));

        // The same trace name with other contents on the second node: the digests disagree.
        File.WriteAllLines(A, StackDistanceTests.RandomTrace(99, 150, 6_000).Select(p => p.ToString(CultureInfo.InvariantCulture)));
        var changed = Cli("sweep", A, "--frames", "10,20", "--policies", "fifo", "--shard", "1/2", "--part", P("changed.json"));
        Assert.That(changed.Code, Is.EqualTo(0), changed.Err);
        r = Cli("merge", parts[0], P("changed.json"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("changed.json").And.Contain("different contents for the trace"));

        string text = File.ReadAllText(parts[1]);
        int cell = text.IndexOf("{\n      \"cell\"", StringComparison.Ordinal);
        File.WriteAllText(P("cut.json"), text[..cell].TrimEnd().TrimEnd(',') + "\n  ]\n}\n");
        r = Cli("merge", parts[0], P("cut.json"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("cut.json").And.Contain("holds 0 cells but its shard covers 1"));

        File.WriteAllText(P("junk.json"), "{\"format\": \"ecsmem-sweep-part\", \"version\": 1, ");
        r = Cli("merge", parts[0], P("junk.json"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("junk.json").And.Contain("invalid JSON"));
    }

    [Test]
    public void ShardOptionsAreCheckedBeforeAnyWork()
    {
        var r = Cli("sweep", A, "--frames", "10", "--shard", "0/2");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--part"));
        r = Cli("sweep", A, "--frames", "10", "--shard", "0/2", "--part", P("p.json"), "--csv", P("x.csv"));
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("merge"));
        r = Cli("sweep", A, "--frames", "10", "--partition", "debug");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("--slurm"));
        r = Cli("sweep", A, "--frames", "10", "--policies", "lru,fifo", "--slurm", P("job"), "--shards", "3");
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err, Does.Contain("more shards than the grid's 2 cells"));
        Assert.That(Directory.Exists(P("job")), Is.False);
    }
}
