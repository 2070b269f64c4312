using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using EcsMem.Tests.Report;

namespace EcsMem.Tests.Events;

/// <summary><c>ecsmem run --events</c>: the file, stdout, the filters, the schema, bad option values.</summary>
public class EventCliTests
{
    private static string Teach => EventStreamTests.Sample("teach-fault.yaml");

    private static string[] ReadLines(string path) => File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Test]
    public void TheFileHoldsOneJsonObjectPerLineAndTheReportIsUnchanged()
    {
        using var f = new ReportTestFiles();
        string path = f.PathOf("e.jsonl");
        var (code, withEvents, err) = ReportTestFiles.Run("run", Teach, "--events", path);
        Assert.That(code, Is.EqualTo(0), err);
        var (_, plain, _) = ReportTestFiles.Run("run", Teach);
        Assert.That(withEvents, Is.EqualTo(plain), "attaching a sink changes nothing the report shows");
        string[] lines = ReadLines(path);
        Assert.That(lines, Has.Length.GreaterThan(100));
        foreach (string l in lines)
            using (JsonDocument.Parse(l)) { }
        Assert.That(f.FilesExcept(), Is.EqualTo(new[] { "e.jsonl" }), "no temporary file left");
    }

    [Test]
    public void DashStreamsToStdoutAndTheReportGoesToStderr()
    {
        using var f = new ReportTestFiles();
        string path = f.PathOf("e.jsonl");
        ReportTestFiles.Run("run", Teach, "--events", path);
        var (code, stdout, stderr) = ReportTestFiles.Run("run", Teach, "--events", "-");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Is.EqualTo(File.ReadAllText(path)));
        var (_, report, _) = ReportTestFiles.Run("run", Teach);
        Assert.That(stderr, Is.EqualTo(report));
    }

    /// <summary>The filters, applied in the test to the unfiltered lines (parsed as JSON), give the filtered file.</summary>
    [TestCase("fault,swap_in", null, null, null, null)]
    [TestCase(null, "0", null, null, null)]
    [TestCase(null, null, "500000", "3000000", null)]
    [TestCase("fault,unmap,tlb_flush,reclaim", "1", "0", "5000000", null)]
    [TestCase(null, null, null, null, "0x40d000")]
    public void FiltersSelectExactlyTheMatchingLines(string? kinds, string? pids, string? from, string? to, string? page)
    {
        using var f = new ReportTestFiles();
        string all = f.PathOf("all.jsonl"), some = f.PathOf("some.jsonl");
        Assert.That(ReportTestFiles.Run("run", Teach, "--events", all).Code, Is.EqualTo(0));
        var args = new List<string> { "run", Teach, "--events", some };
        if (kinds is not null) args.AddRange(["--events-kind", kinds]);
        if (pids is not null) args.AddRange(["--events-pid", pids]);
        if (from is not null) args.AddRange(["--events-from", from]);
        if (to is not null) args.AddRange(["--events-to", to]);
        if (page is not null) args.AddRange(["--events-page", page]);
        var (code, _, err) = ReportTestFiles.Run([.. args]);
        Assert.That(code, Is.EqualTo(0), err);

        var kindSet = kinds?.Split(',').ToHashSet();
        var pidSet = pids?.Split(',').Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToHashSet();
        ulong lo = from is null ? 0 : ulong.Parse(from, CultureInfo.InvariantCulture);
        ulong hi = to is null ? ulong.MaxValue : ulong.Parse(to, CultureInfo.InvariantCulture);
        ulong? pg = page is null ? null : ulong.Parse(page[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        static ulong Hex(JsonElement e) => ulong.Parse(e.GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        bool Keep(string line)
        {
            using var d = JsonDocument.Parse(line);
            var o = d.RootElement;
            string kind = o.GetProperty("kind").GetString()!;
            ulong t = o.GetProperty("time").GetUInt64();
            if (kindSet is not null && !kindSet.Contains(kind)) return false;
            if (pidSet is not null && !pidSet.Contains(o.GetProperty("pid").GetInt64())) return false;
            if (t < lo || t > hi) return false;
            if (pg is { } p)
            {
                if (o.TryGetProperty("address", out var a)) return Hex(a) / 4096 == p / 4096;
                if (kind == "tlb_flush") return o.GetProperty("full").GetBoolean() || (Hex(o.GetProperty("start")) <= p && p < Hex(o.GetProperty("end")));
                return kind is "reclaim" or "kswapd_wake" or "kswapd_sleep";
            }
            return true;
        }
        string[] expected = ReadLines(all).Where(Keep).ToArray();
        Assert.That(expected, Is.Not.Empty);
        Assert.That(ReadLines(some), Is.EqualTo(expected));
    }

    [TestCase("--events-kind", "bogus", "unknown event kind")]
    [TestCase("--events-pid", "x", "--events-pid needs pids")]
    [TestCase("--events-from", "-5", "--events-from needs a simulated time")]
    [TestCase("--events-to", "1e9", "--events-to needs a simulated time")]
    [TestCase("--events-page", "40d000", "--events-page needs an address in hex")]
    public void BadFilterValuesEndInOneLineAndNoFile(string option, string value, string message)
    {
        using var f = new ReportTestFiles();
        var (code, stdout, stderr) = ReportTestFiles.Run("run", Teach, "--events", f.PathOf("e.jsonl"), option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.StartWith("ecsmem: error: command line:").And.Contain(message).And.Contain($"(got '{value}')"));
        Assert.That(f.FilesExcept(), Is.Empty);
    }

    [Test]
    public void FiltersNeedEventsAndTheWindowMustBeOrdered()
    {
        var (code, _, err) = ReportTestFiles.Run("run", Teach, "--events-kind", "fault");
        Assert.That((code, err), Is.EqualTo((2, "ecsmem: error: command line: --events-kind needs --events FILE.jsonl (or - for stdout) (got '--events-kind')\n")));
        (code, _, err) = ReportTestFiles.Run("run", Teach, "--events", "-", "--events-from", "10", "--events-to", "9");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--events-to is before --events-from"));
    }

    // ---- The schema (docs/events.schema.json) and a small validator for the parts of JSON Schema it uses ----

    private static string SchemaPath =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "..", "docs", "events.schema.json");

    [Test]
    public void EveryLineOfRealRunsMatchesTheSchema()
    {
        using var schemaDoc = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        var schema = schemaDoc.RootElement;
        using var f = new ReportTestFiles();
        var kinds = new HashSet<string>();
        // The default scenario (every kind but oom_kill and file reads come up) and an OOM scenario.
        string oom = f.Write("oom.yaml", """
            machine: {ram: 256K, swap: 0, overcommit_memory: 1}
            processes:
              - name: hog
                layout: {exec: {file: /bin/hog, heap: 2M}}
                workload: {generator: "seq:count=400,pages=400,writes=1"}
            """);
        // The per-call vmscan lines come only when named: the default scenario's, asked for.
        foreach (string[] run in (string[][])[["run"], ["run", oom], ["run", "--events-kind", "lru_shrink_inactive,lru_shrink_active"]])
        {
            string path = f.PathOf("e.jsonl");
            var (code, _, err) = ReportTestFiles.Run([.. run, "--events", path]);
            Assert.That(code, Is.EqualTo(0), err);
            // The default scenario writes about 560,000 lines: every 97th and the first three of each kind are checked.
            string[] lines = ReadLines(path);
            var seen = new Dictionary<string, int>();
            IEnumerable<string> sample = run.Length == 1
                ? lines.Where((l, i) =>
                {
                    string k = l[(l.IndexOf("\"kind\":\"", StringComparison.Ordinal) + 8)..];
                    k = k[..k.IndexOf('"', StringComparison.Ordinal)];
                    seen[k] = seen.GetValueOrDefault(k) + 1;
                    return i % 97 == 0 || seen[k] <= 3;
                })
                : lines;
            foreach (string line in sample)
            {
                using var d = JsonDocument.Parse(line);
                var problems = new List<string>();
                Validate(schema, d.RootElement, "$", problems);
                Assert.That(problems, Is.Empty, line);
                kinds.Add(d.RootElement.GetProperty("kind").GetString()!);
                // Keys in the documented order: the common six first.
                Assert.That(d.RootElement.EnumerateObject().Take(6).Select(p => p.Name), Is.EqualTo(new[] { "time", "cpu", "pid", "kind", "mechanism", "arrow" }));
            }
        }
        Assert.That(kinds, Is.SupersetOf(new[] { "fault", "syscall", "reclaim", "kswapd_wake", "kswapd_sleep", "alloc", "alloc_stall", "swap_out", "unmap", "swap_in", "file_read", "tlb_flush", "oom_kill", "process_start", "process_exit", "lru_shrink_inactive", "lru_shrink_active" }));
    }

    [Test]
    public void TheValidatorRejectsWhatTheSchemaForbids()
    {
        using var schemaDoc = JsonDocument.Parse(File.ReadAllText(SchemaPath));
        string good = """{"time":1,"cpu":0,"pid":1,"kind":"alloc","mechanism":"allocation","arrow":"②","address":"0x1000","pfn":3}""";
        foreach (var (bad, why) in new[]
        {
            (good, ""),
            (good.Replace("\"pfn\":3", "\"pfn\":\"3\"", StringComparison.Ordinal), "pfn is a string"),
            (good.Replace(",\"pfn\":3", "", StringComparison.Ordinal), "pfn missing"),
            (good.Replace("0x1000", "4096", StringComparison.Ordinal), "address not hex"),
            (good.Replace("\"②\"", "\"⑧\"", StringComparison.Ordinal), "wrong arrow for alloc"),
            (good.Replace("}", ",\"extra\":1}", StringComparison.Ordinal), "unknown key"),
            (good.Replace("alloc\"", "allocate\"", StringComparison.Ordinal), "unknown kind"),
        })
        {
            using var d = JsonDocument.Parse(bad);
            var problems = new List<string>();
            Validate(schemaDoc.RootElement, d.RootElement, "$", problems);
            Assert.That(problems, why.Length == 0 ? Is.Empty : Is.Not.Empty, why);
        }
    }

    /// <summary>The shared validator (<see cref="JsonSchemaCheck"/>).</summary>
    private static void Validate(JsonElement schema, JsonElement v, string at, List<string> problems) =>
        problems.AddRange(JsonSchemaCheck.Problems(schema, v));
}
