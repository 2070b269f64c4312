using System.Text.Json;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;

namespace EcsMem.Tests.Policies;

/// <summary>
/// Exercise tables (<c>run --ideal --steps</c>) against worked examples done by hand. Each step is written as
/// the frames after the reference (frame 0 first, "." = empty frame), then F (fault) or h (hit), then the victim
/// when a page was evicted. A page stays in the frame it was loaded into, as in textbook tables.
/// </summary>
public class StepsTests
{
    private static readonly int[] Belady = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
    private static readonly int[] Silberschatz = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];

    private static IReadOnlyList<IdealStep> Steps(string policy, int frames, int[] refs)
    {
        var recorder = new IdealStepRecorder();
        var sim = new IdealSimulator(frames, PolicyRegistry.Create(policy, new PolicyOptions(1))) { StepRecorder = recorder };
        sim.Run(Sim.Pages(refs));
        return recorder.Steps;
    }

    private static string Describe(IdealStep s) =>
        string.Join(" ", s.Frames.Select(p => p?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "."))
        + (s.Fault ? " F" : " h") + (s.Victim is { } v ? " " + v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");

    private static void AssertTable(string policy, int frames, int[] refs, string[] expected, int faults)
    {
        var steps = Steps(policy, frames, refs);
        Assert.That(steps.Select(Describe).ToArray(), Is.EqualTo(expected));
        Assert.That(steps.Select(s => s.Page), Is.EqualTo(Sim.Pages(refs)));
        Assert.That(steps.Count(s => s.Fault), Is.EqualTo(faults));
        foreach (var s in steps)
        {
            Assert.That(s.Frames, Has.Count.EqualTo(frames));
            Assert.That(s.Frames[s.Frame], Is.EqualTo(s.Page), "the page sits in the frame the step names");
        }
    }

    // FIFO, 3 frames: 1,2,3 fill frames 0,1,2; 4 replaces the oldest, 1 (frame 0); 1 replaces 2 (frame 1);
    // 2 replaces 3 (frame 2); 5 replaces 4 (frame 0); 1 and 2 hit; 3 replaces 1 (loaded at step 5, frame 1);
    // 4 replaces 2 (frame 2); 5 hits. 9 faults.
    [Test]
    public void FifoThreeFramesBelady() => AssertTable("fifo", 3, Belady,
    [
        "1 . . F", "1 2 . F", "1 2 3 F", "4 2 3 F 1", "4 1 3 F 2", "4 1 2 F 3",
        "5 1 2 F 4", "5 1 2 h", "5 1 2 h", "5 3 2 F 1", "5 3 4 F 2", "5 3 4 h",
    ], 9);

    // FIFO, 4 frames: 1-4 fill the frames; 1, 2 hit; then every reference faults and replaces the oldest:
    // 5→1 (frame 0), 1→2 (1), 2→3 (2), 3→4 (3), 4→5 (0), 5→1 (1). 10 faults: more than with 3 (Belady's anomaly).
    [Test]
    public void FifoFourFramesBeladysAnomaly() => AssertTable("fifo", 4, Belady,
    [
        "1 . . . F", "1 2 . . F", "1 2 3 . F", "1 2 3 4 F", "1 2 3 4 h", "1 2 3 4 h",
        "5 2 3 4 F 1", "5 1 3 4 F 2", "5 1 2 4 F 3", "5 1 2 3 F 4", "4 1 2 3 F 5", "4 5 2 3 F 1",
    ], 10);

    // LRU, 3 frames: 4 replaces 1 (least recently used of 1,2,3); 1 replaces 2; 2 replaces 3; 5 replaces 4;
    // 1, 2 hit; 3 replaces 5 (used at 7, before 1 at 8 and 2 at 9); 4 replaces 1; 5 replaces 2. 10 faults.
    [Test]
    public void LruThreeFramesBelady() => AssertTable("lru", 3, Belady,
    [
        "1 . . F", "1 2 . F", "1 2 3 F", "4 2 3 F 1", "4 1 3 F 2", "4 1 2 F 3",
        "5 1 2 F 4", "5 1 2 h", "5 1 2 h", "3 1 2 F 5", "3 4 2 F 1", "3 4 5 F 2",
    ], 10);

    // OPT, 3 frames: 4: next uses 1@5, 2@6, 3@10 → 3 goes (frame 2); 1, 2 hit; 5: 1@8, 2@9, 4@11 → 4 goes
    // (frame 2); 1, 2 hit; 3: 1 and 2 are never used again, 5@12 — either dead page is optimal; OptPolicy's
    // documented tie rule takes the one used longest ago, 1 (frame 0); 4: dead 2 (last used 9) before dead 3
    // (last used 10) → 2 (frame 1); 5 hits. 7 faults.
    [Test]
    public void OptThreeFramesBelady() => AssertTable("opt", 3, Belady,
    [
        "1 . . F", "1 2 . F", "1 2 3 F", "1 2 4 F 3", "1 2 4 h", "1 2 4 h",
        "1 2 5 F 4", "1 2 5 h", "1 2 5 h", "3 2 5 F 1", "3 4 5 F 2", "3 4 5 h",
    ], 7);

    // Silberschatz's string, FIFO, 3 frames (15 faults): queue order in brackets after each eviction.
    // 2→7 [0 1 2]; 0 hit; 3→0 [1 2 3]; 0→1 [2 3 0]; 4→2 [3 0 4]; 2→3 [0 4 2]; 3→0 [4 2 3]; 0→4 [2 3 0];
    // 3, 2 hit; 1→2 [3 0 1]; 2→3 [0 1 2]; 0, 1 hit; 7→0 [1 2 7]; 0→1 [2 7 0]; 1→2.
    [Test]
    public void FifoSilberschatz() => AssertTable("fifo", 3, Silberschatz,
    [
        "7 . . F", "7 0 . F", "7 0 1 F", "2 0 1 F 7", "2 0 1 h", "2 3 1 F 0", "2 3 0 F 1",
        "4 3 0 F 2", "4 2 0 F 3", "4 2 3 F 0", "0 2 3 F 4", "0 2 3 h", "0 2 3 h", "0 1 3 F 2",
        "0 1 2 F 3", "0 1 2 h", "0 1 2 h", "7 1 2 F 0", "7 0 2 F 1", "7 0 1 F 2",
    ], 15);

    // LRU, 3 frames (12 faults), last-use times in brackets: 2→7; 0 hit; 3→1 [2@4 0@5 1@3]; 0 hit;
    // 4→2 [2@4 0@7 3@6]; 2→3 [4@8 0@7 3@6]; 3→0 [4@8 0@7 2@9]; 0→4 [4@8 3@10 2@9]; 3, 2 hit;
    // 1→0 [0@11 3@12 2@13]; 2 hit; 0→3 [1@14 3@12 2@15]; 1 hit; 7→2 [1@17 0@16 2@15]; 0, 1 hit.
    [Test]
    public void LruSilberschatz() => AssertTable("lru", 3, Silberschatz,
    [
        "7 . . F", "7 0 . F", "7 0 1 F", "2 0 1 F 7", "2 0 1 h", "2 0 3 F 1", "2 0 3 h",
        "4 0 3 F 2", "4 0 2 F 3", "4 3 2 F 0", "0 3 2 F 4", "0 3 2 h", "0 3 2 h", "1 3 2 F 0",
        "1 3 2 h", "1 0 2 F 3", "1 0 2 h", "1 0 7 F 2", "1 0 7 h", "1 0 7 h",
    ], 12);

    // OPT, 3 frames (9 faults), next uses in brackets: 2→7 [7@18 0@5 1@14]; 0 hit; 3→1 [2@9 0@7 1@14];
    // 0 hit; 4→0 [2@9 0@11 3@10]; 2, 3 hit; 0→4 [2@13 4 never 3@12]; 3, 2 hit; 1→3 [2@15 0@16 3 never];
    // 2, 0, 1 hit; 7→2 [2 never 0@19 1@20]; 0, 1 hit.
    [Test]
    public void OptSilberschatz() => AssertTable("opt", 3, Silberschatz,
    [
        "7 . . F", "7 0 . F", "7 0 1 F", "2 0 1 F 7", "2 0 1 h", "2 0 3 F 1", "2 0 3 h",
        "2 4 3 F 0", "2 4 3 h", "2 4 3 h", "2 0 3 F 4", "2 0 3 h", "2 0 3 h", "2 0 1 F 3",
        "2 0 1 h", "2 0 1 h", "2 0 1 h", "7 0 1 F 2", "7 0 1 h", "7 0 1 h",
    ], 9);

    [Test]
    public void RecordingChangesNoResult()
    {
        // The same replay with and without a recorder: same counts and victims, for every built-in policy.
        var rng = new Random(15);
        ulong[] pages = Enumerable.Range(0, 3000).Select(_ => (ulong)rng.Next(40)).ToArray();
        foreach (string p in Sim.BuiltIns)
        {
            var (plain, victims) = Sim.Run(p, 7, pages);
            var recorder = new IdealStepRecorder();
            var sim = new IdealSimulator(7, PolicyRegistry.Create(p, new PolicyOptions(1))) { StepRecorder = recorder, EvictionLog = [] };
            sim.Run(pages);
            Assert.That(sim.Result, Is.EqualTo(plain), p);
            Assert.That(recorder.Steps.Where(s => s.Victim is not null).Select(s => s.Victim!.Value), Is.EqualTo(victims), p);
            Assert.That(recorder.Steps.Count(s => !s.Fault), Is.EqualTo(plain.Hits), p);
        }
    }

    private static (int Code, string Out, string Err) Cli(params string[] args) => IdealCliTests.Cli(args);

    [Test]
    public void TextTableForFifoBelady()
    {
        var (code, stdout, stderr) = Cli("run", "--ideal", "--refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--frames", "3", "--policy", "fifo", "--steps");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        // Written by hand from the FIFO working above.
        const string table =
            "reference | 1 2 3 4 1 2 5 1 2 3 4 5\n" +
            "----------+------------------------\n" +
            "frame 0   | 1 1 1 4 4 4 5 5 5 5 5 5\n" +
            "frame 1   |   2 2 2 1 1 1 1 1 3 3 3\n" +
            "frame 2   |     3 3 3 2 2 2 2 2 4 4\n" +
            "fault     | F F F F F F F - - F F -\n" +
            "victim    |       1 2 3 4     1 2\n";
        Assert.That(stdout, Does.StartWith("ideal-mode page replacement, step by step\ntrace:           --refs (inline)\npolicy:          fifo\nframes:          3\n"));
        Assert.That(stdout, Does.Contain("\n\n" + table + "\n"));
        Assert.That(stdout, Does.Contain("references:      12\nhits:            3\nfaults:          9\n"));
        Assert.That(stdout, Does.EndWith("fault ratio:     0.750000\n"));
    }

    [Test]
    public void LongStringsWrapIntoBlocksThatFitATerminal()
    {
        // 70 references of two-digit pages: beside "reference |" (11 characters), 23 columns of 3 characters
        // make 80; so blocks of 23, 23, 23 and 1.
        string refs = string.Join(",", Enumerable.Range(0, 70).Select(i => 10 + i % 13));
        var (code, stdout, _) = Cli("run", "--ideal", "--refs", refs, "--frames", "4", "--policy", "lru", "--steps");
        Assert.That(code, Is.EqualTo(0));
        string[] lines = stdout.Split('\n');
        Assert.That(lines.Max(l => l.Length), Is.LessThanOrEqualTo(80));
        string[] blocks = lines.Where(l => l.StartsWith("reference", StringComparison.Ordinal) && l.Contains(" of ")).ToArray();
        Assert.That(blocks, Is.EqualTo(new[] { "references 1-23 of 70", "references 24-46 of 70", "references 47-69 of 70", "reference 70 of 70" }));
        Assert.That(lines.Max(l => l.Length), Is.EqualTo(80));
        var referenceRows = lines.Where(l => l.StartsWith("reference |", StringComparison.Ordinal)).ToArray();
        Assert.That(referenceRows.Sum(l => l.Split('|')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length), Is.EqualTo(70));
        Assert.That(referenceRows[0], Does.StartWith("reference | 10 11 12 13"));
    }

    [Test]
    public void JsonStepsForLruBelady()
    {
        var (code, stdout, stderr) = Cli("run", "--ideal", "--refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--frames", "3", "--policy", "lru", "--steps", "--json");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        // The report's keys are those of the ideal JSON without --steps, unchanged, then "steps".
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "schema", "ecsmem", "mode", "trace", "trace_format", "policy", "frames", "seed",
            "references", "hits", "faults", "cold_faults", "capacity_faults", "evictions", "fault_ratio", "steps" }));
        Assert.That(root.GetProperty("faults").GetInt64(), Is.EqualTo(10));
        Assert.That(root.GetProperty("hits").GetInt64(), Is.EqualTo(2));
        var steps = root.GetProperty("steps").EnumerateArray().ToArray();
        Assert.That(steps, Has.Length.EqualTo(12));
        foreach (var s in steps)
            Assert.That(s.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "ref", "frames", "fault", "victim" }));
        // Step 1: 1 in frame 0, the others empty (null), a fault with no victim.
        Assert.That(steps[0].GetProperty("ref").GetUInt64(), Is.EqualTo(1));
        Assert.That(steps[0].GetProperty("frames").EnumerateArray().Select(e => e.ValueKind), Is.EqualTo(new[] { JsonValueKind.Number, JsonValueKind.Null, JsonValueKind.Null }));
        Assert.That(steps[0].GetProperty("victim").ValueKind, Is.EqualTo(JsonValueKind.Null));
        // Step 10 (3): replaces 5 in frame 0 → [3, 1, 2]; step 8 (1) is a hit.
        Assert.That(steps[9].GetProperty("frames").EnumerateArray().Select(e => e.GetUInt64()), Is.EqualTo(new ulong[] { 3, 1, 2 }));
        Assert.That(steps[9].GetProperty("fault").GetBoolean(), Is.True);
        Assert.That(steps[9].GetProperty("victim").GetUInt64(), Is.EqualTo(5));
        Assert.That(steps[7].GetProperty("fault").GetBoolean(), Is.False);
        Assert.That(steps[7].GetProperty("victim").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [Test]
    public void JsonWithoutStepsHasNoStepsKey()
    {
        var (code, stdout, _) = Cli("run", "--ideal", "--refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--frames", "4", "--policy", "fifo", "--json");
        Assert.That(code, Is.EqualTo(0));
        using var doc = JsonDocument.Parse(stdout);
        Assert.That(doc.RootElement.TryGetProperty("steps", out _), Is.False);
        Assert.That(doc.RootElement.GetProperty("faults").GetInt64(), Is.EqualTo(10));
    }

    [Test]
    public void TraceFileAndRefsGiveTheSameTable()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-steps-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string trace = Path.Combine(dir, "s.pages");
            File.WriteAllText(trace, string.Join("\n", Silberschatz) + "\n");
            var (code, fromFile, _) = Cli("run", "--ideal", "--trace", trace, "--trace-format", "pages", "--frames", "3", "--policy", "opt", "--steps");
            var (_, inline, _) = Cli("run", "--ideal", "--refs", string.Join(",", Silberschatz), "--frames", "3", "--policy", "opt", "--steps");
            Assert.That(code, Is.EqualTo(0));
            Assert.That(fromFile, Does.Contain("faults:          9\n"));
            Assert.That(fromFile[fromFile.IndexOf("\n\n", StringComparison.Ordinal)..], Is.EqualTo(inline[inline.IndexOf("\n\n", StringComparison.Ordinal)..]));

            // A trace longer than the teaching view's limit is refused, naming the limit.
            File.WriteAllText(trace, string.Concat(Enumerable.Repeat("1\n", IdealRunModeLimit + 1)));
            var (tooLong, stdout, stderr) = Cli("run", "--ideal", "--trace", trace, "--frames", "3", "--policy", "fifo", "--steps");
            Assert.That(tooLong, Is.EqualTo(2));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain("at most 10000 references"));
            Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            // Without --steps the same trace is fine.
            Assert.That(Cli("run", "--ideal", "--trace", trace, "--frames", "3", "--policy", "fifo").Code, Is.EqualTo(0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const int IdealRunModeLimit = 10_000;

    [TestCase("1,2,x", "'x'")]
    [TestCase("1,,2", "''")]
    [TestCase("1,-2,3", "'-2'")]
    [TestCase("1,2,3,", "''")]
    [TestCase("99999999999999999999", "'99999999999999999999'")]
    public void BadRefsAreOneLineAndExitTwo(string refs, string shown)
    {
        var (code, stdout, stderr) = Cli("run", "--ideal", "--refs", refs, "--frames", "3", "--policy", "fifo", "--steps");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith("ecsmem: error: ").And.Contain(shown).And.Contain("--refs"));
        Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void RefsAndTraceTogetherOrNeitherAreRefused()
    {
        var both = Cli("run", "--ideal", "--refs", "1,2", "--trace", "t.pages", "--frames", "3", "--policy", "fifo");
        Assert.That(both.Code, Is.EqualTo(2));
        Assert.That(both.Err, Does.Contain("not both"));
        var positional = Cli("run", "--ideal", "t.pages", "--refs", "1,2", "--frames", "3", "--policy", "fifo");
        Assert.That(positional.Code, Is.EqualTo(2));
        Assert.That(positional.Err, Does.Contain("not both"));
        var neither = Cli("run", "--ideal", "--frames", "3", "--policy", "fifo", "--steps");
        Assert.That(neither.Code, Is.EqualTo(2));
        Assert.That(neither.Err, Does.Contain("--trace FILE").And.Contain("--refs LIST"));
        var format = Cli("run", "--ideal", "--refs", "1,2", "--trace-format", "pages", "--frames", "3", "--policy", "fifo");
        Assert.That(format.Code, Is.EqualTo(2));
        Assert.That(format.Err, Does.Contain("--trace-format"));
    }

    [Test]
    public void StepsRefusesLongRefsAndManyFrames()
    {
        string refs = string.Join(",", Enumerable.Repeat("1", IdealRunModeLimit + 1));
        var longRefs = Cli("run", "--ideal", "--refs", refs, "--frames", "3", "--policy", "fifo", "--steps");
        Assert.That(longRefs.Code, Is.EqualTo(2));
        Assert.That(longRefs.Err, Does.Contain("teaching view").And.Contain("10001"));
        Assert.That(Cli("run", "--ideal", "--refs", refs, "--frames", "3", "--policy", "fifo").Code, Is.EqualTo(0));
        var frames = Cli("run", "--ideal", "--refs", "1,2,3", "--frames", "65", "--policy", "fifo", "--steps");
        Assert.That(frames.Code, Is.EqualTo(2));
        Assert.That(frames.Err, Does.Contain("at most 64 frames"));
    }
}
