using System.Text.Json;
using System.Text.RegularExpressions;
using EcsMem.Diagnostics;
using EcsMem.Tests.Report;

namespace EcsMem.Tests.Cli;

/// <summary>
/// The one JSON contract (docs/cli.md): every command's and mode's real JSON output validates against its schema in
/// docs/schemas/, starts with "schema" and "ecsmem" {version, commit}, has snake_case keys (Linux's own names
/// excepted where the schema says so) and carries the effective options.
/// </summary>
public class JsonContractTests
{
    private static string Sample(string name) => Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "samples", name);

    private static JsonElement Check(string schemaFile, string json)
    {
        JsonElement schema = JsonSchemaCheck.Load(schemaFile);
        using var d = JsonDocument.Parse(json);
        JsonElement root = d.RootElement.Clone();
        Assert.That(JsonSchemaCheck.Problems(schema, root), Is.Empty, schemaFile);
        // The header, in that order, at the top (a sweep part starts with its "format" tag).
        string[] first = root.EnumerateObject().Select(p => p.Name).SkipWhile(n => n == "format").Take(2).ToArray();
        Assert.That(first, Is.EqualTo(new[] { "schema", "ecsmem" }));
        Assert.That(root.GetProperty("ecsmem").GetProperty("version").GetString(), Is.EqualTo(BuildInfo.Version));
        Assert.That(root.GetProperty("ecsmem").GetProperty("commit").GetString(), Is.EqualTo(BuildInfo.Commit));
        return root;
    }

    private static string Ok((int Code, string Out, string Err) r)
    {
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        return r.Out;
    }

    [Test]
    public void TheCommitIsTheGitCommitOfTheBuildOrUnknown()
    {
        // The test project is built from the same checkout as the CLI: its own informational version says what git said.
        string info = typeof(JsonContractTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        string expected = info.Contains('+') ? info[(info.IndexOf('+') + 1)..] : "unknown";
        Assert.That(BuildInfo.Commit, Is.EqualTo(expected));
        Assert.That(BuildInfo.Commit, Does.Match("^([0-9a-f]{40}|unknown)$"));
    }

    [Test]
    public void RunJsonMatchesTheReportSchema()
    {
        JsonElement r = Check("report.schema.json", Ok(ReportTestFiles.Run("run", Sample("scenarios/teach-fault.yaml"), "--json")));
        Assert.That(r.GetProperty("scenario").GetString(), Does.EndWith("teach-fault.yaml"));
        Assert.That(r.TryGetProperty("seed", out _) && r.TryGetProperty("effective_configuration", out _), Is.True);
    }

    /// <summary>A list in the effective configuration (machine.free_area) is a JSON array of integers, null when absent.</summary>
    [Test]
    public void RunJsonWithAnAgedFreeAreaMatchesTheReportSchema()
    {
        using var f = new ReportTestFiles();
        string yaml = f.Write("aged.yaml", "machine: {ram: 8M, free_area: [4, 2, 1, 0, 0, 0, 0, 0, 0, 1, 0]}\n" +
            "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n");
        JsonElement r = Check("report.schema.json", Ok(ReportTestFiles.Run("run", yaml, "--json")));
        JsonElement area = r.GetProperty("effective_configuration").GetProperty("free_area");
        Assert.That(area.EnumerateArray().Select(x => x.GetInt64()), Is.EqualTo(new long[] { 4, 2, 1, 0, 0, 0, 0, 0, 0, 1, 0 }));
        JsonElement fresh = Check("report.schema.json", Ok(ReportTestFiles.Run("run", Sample("scenarios/teach-fault.yaml"), "--json")));
        Assert.That(fresh.GetProperty("effective_configuration").GetProperty("free_area").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    /// <summary>The kit's THP, overcommit, mlock and memfd programs bring report lines of their own (Linux's /proc names).</summary>
    [TestCase("thp-fork-write")]
    [TestCase("overcommit-never")]
    [TestCase("mlock-munlock")]
    [TestCase("merge-anon-vma")]
    [TestCase("memfd")]
    public void KitScenarioRunJsonMatchesTheReportSchema(string program)
    {
        using var f = new ReportTestFiles();
        string programs = Path.Combine(EcsMem.Oracle.Kit.OracleDir(TestContext.CurrentContext.TestDirectory), "programs");
        EcsMem.Oracle.PhaseProgram p = EcsMem.Oracle.PhaseProgram.LoadAll(programs).Single(x => x.Name == program);
        EcsMem.Oracle.GeneratedScenario sc = EcsMem.Oracle.ScenarioGenerator.Generate(new EcsMem.Oracle.ProgramPlan(p));
        f.Write(program + ".lackey", sc.Trace);
        JsonElement r = Check("report.schema.json", Ok(ReportTestFiles.Run("run", f.Write(program + ".yaml", sc.Yaml), "--json")));
        Assert.That(r.GetProperty("scenario").GetString(), Does.EndWith(program + ".yaml"));
    }

    [Test]
    public void IdealJsonMatchesItsSchemaWithAndWithoutSteps()
    {
        string[] refs = ["run", "--ideal", "--refs", "1,2,3,4,1,2,5,1,2,3,4,5", "--frames", "3", "--policy", "fifo", "--json"];
        JsonElement r = Check("ideal.schema.json", Ok(ReportTestFiles.Run(refs)));
        // Belady's string under FIFO with 3 frames: 9 faults (by hand: 1 2 3 4 1 2 5 fault, 1 2 hit, 3 4 fault, 5 hit).
        Assert.That((r.GetProperty("faults").GetInt32(), r.GetProperty("cold_faults").GetInt32(), r.GetProperty("policy").GetString(), r.GetProperty("frames").GetInt32()),
            Is.EqualTo((9, 5, "fifo", 3)));
        JsonElement s = Check("ideal.schema.json", Ok(ReportTestFiles.Run([.. refs, "--steps"])));
        Assert.That(s.GetProperty("steps").GetArrayLength(), Is.EqualTo(12));
    }

    [Test]
    public void CachegrindGenConvertSweepPartMergeJsonMatchTheirSchemas()
    {
        using var f = new ReportTestFiles();
        string bin = f.PathOf("loop.bin"), lackey = f.PathOf("loop.lackey");
        JsonElement g = Check("trace-write.schema.json", Ok(ReportTestFiles.Run("gen", "loop:count=2000,pages=40", "-o", bin, "--json")));
        Assert.That((g.GetProperty("command").GetString(), g.GetProperty("accesses").GetInt64(), g.GetProperty("format").GetString()), Is.EqualTo(("gen", 2000L, "binary")));
        JsonElement c = Check("trace-write.schema.json", Ok(ReportTestFiles.Run("convert", bin, "--to", "lackey", "--out", lackey, "--json")));
        Assert.That((c.GetProperty("from").GetString(), c.GetProperty("accesses").GetInt64()), Is.EqualTo(("binary", 2000L)));

        JsonElement cg = Check("cachegrind.schema.json", Ok(ReportTestFiles.Run("run", "--cachegrind", "--trace", lackey, "--json")));
        JsonElement ev = cg.GetProperty("events");
        // The loop's 40 pages × 4096 bytes = 2560 lines of 64 bytes, more than D1's 512: every line a cold miss once.
        Assert.That(ev.GetProperty("Dr").GetInt64() + ev.GetProperty("Dw").GetInt64(), Is.EqualTo(2000));
        Assert.That(ev.GetProperty("LLrefs").GetInt64(), Is.EqualTo(ev.GetProperty("I1mr").GetInt64() + ev.GetProperty("D1mr").GetInt64() + ev.GetProperty("D1mw").GetInt64()));

        string whole = f.PathOf("whole.json"), merged = f.PathOf("merged.json");
        string[] sweep = ["sweep", bin, "--frames", "8,16,32", "--policies", "lru,fifo", "-q"];
        Ok(ReportTestFiles.Run([.. sweep, "--json", whole]));
        JsonElement w = Check("sweep.schema.json", File.ReadAllText(whole));
        Assert.That(w.GetProperty("rows").GetArrayLength(), Is.EqualTo(6));
        Assert.That(w.GetProperty("grid").GetProperty("frames").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 8, 16, 32 }));
        for (int i = 0; i < 2; i++)
            Ok(ReportTestFiles.Run([.. sweep, "--shard", $"{i}/2", "--part", f.PathOf($"p{i}.json")]));
        Check("sweep-part.schema.json", File.ReadAllText(f.PathOf("p0.json")));
        Ok(ReportTestFiles.Run("merge", f.PathOf("p0.json"), f.PathOf("p1.json"), "--json", merged, "-q"));
        Check("sweep.schema.json", File.ReadAllText(merged));
        Assert.That(File.ReadAllBytes(merged), Is.EqualTo(File.ReadAllBytes(whole)), "merge writes the unsharded sweep's JSON byte for byte");
    }

    [Test]
    public void ShardsSweepAndStdoutTraceSummariesFollowTheContract()
    {
        using var f = new ReportTestFiles();
        // gen --out - --json: the trace on stdout, the JSON summary (same schema) on stderr.
        // A real process: the trace goes to the process's own standard output.
        var gen = ScaleOut.EcsmemProcess.Ecsmem(f.PathOf(""), null, "gen", "loop:count=300,pages=40", "--out", "-", "--format", "pages", "--json");
        Assert.That(gen.Code, Is.EqualTo(0), gen.Err);
        Assert.That(gen.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(300));
        JsonElement g = Check("trace-write.schema.json", gen.Err);
        Assert.That((g.GetProperty("output").GetString(), g.GetProperty("accesses").GetInt64()), Is.EqualTo(("-", 300L)));

        string bin = f.PathOf("loop.bin"), json = f.PathOf("shards.json");
        Ok(ReportTestFiles.Run("gen", "loop:count=2000,pages=40", "-o", bin));
        Ok(ReportTestFiles.Run("sweep", bin, "--frames", "8,39,40", "--policies", "lru", "--shards-rate", "1", "--json", json, "-q"));
        JsonElement w = Check("sweep.schema.json", File.ReadAllText(json));
        Assert.That((w.GetProperty("shards").GetProperty("rate").GetDouble(), w.GetProperty("shards").GetProperty("size").GetInt32()), Is.EqualTo((1.0, 0)));
        // A loop over 40 pages under LRU: with fewer than 40 frames every reference faults (each page is evicted just
        // before its reuse); with 40 only the 40 cold faults. Rate 1 samples every page, so the estimate is exact.
        Assert.That(w.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("policy").GetString(), r.GetProperty("faults").GetInt64())),
            Is.EqualTo(new[] { ("lru-shards", 2000L), ("lru-shards", 2000L), ("lru-shards", 40L) }));

        // --cachegrind-out-file is an effective option: the JSON names the file it wrote.
        string lackey = f.PathOf("loop.lackey"), outFile = f.PathOf("cachegrind.out.1");
        Ok(ReportTestFiles.Run("convert", bin, "--to", "lackey", "--out", lackey));
        JsonElement cg = Check("cachegrind.schema.json", Ok(ReportTestFiles.Run("run", "--cachegrind", "--trace", lackey, "--cachegrind-out-file", outFile, "--json")));
        Assert.That(cg.GetProperty("cachegrind_out_file").GetString(), Is.EqualTo(outFile));
        Assert.That(File.ReadAllText(outFile), Does.StartWith("desc: I1 cache:"));
    }

    [Test]
    public void MapsAndExplainJsonMatchTheirSchemas()
    {
        using var f = new ReportTestFiles();
        string maps = f.Write("p.maps",
            "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n" +
            "00651000-00652000 rw-p 00051000 08:02 173521                             /usr/bin/dbus-daemon\n" +
            "7ffd7b4e5000-7ffd7b506000 rw-p 00000000 00:00 0                          [stack]\n");
        JsonElement m = Check("maps.schema.json", Ok(ReportTestFiles.Run("maps", maps, "--status", "--json")));
        JsonElement vmas = m.GetProperty("vmas");
        Assert.That(vmas.GetArrayLength(), Is.EqualTo(3));
        Assert.That((vmas[1].GetProperty("start").GetString(), vmas[1].GetProperty("offset").GetString(), vmas[2].GetProperty("path").GetString()),
            Is.EqualTo(("00651000", "00051000", "[stack]")));
        // VmSize = 0x52000 + 0x1000 + 0x21000 bytes = 328 + 4 + 132 kB.
        Assert.That(m.GetProperty("status").GetProperty("VmSize").GetString(), Is.EqualTo("464 kB"));

        JsonElement e = Check("explain.schema.json", Ok(ReportTestFiles.Run("explain", "0x7ffd1234abcd", "--json")));
        // By hand: bits 47..39 = 0xff, 38..30 = 0x1f4, 29..21 = 0x91, 20..12 = 0x14a, offset 0xbcd.
        Assert.That(e.GetProperty("fields").EnumerateArray().Select(x => x.GetProperty("value").GetUInt64()), Is.EqualTo(new ulong[] { 0, 0xff, 0x1f4, 0x91, 0x14a, 0xbcd }));
        JsonElement walk = Check("explain.schema.json", Ok(ReportTestFiles.Run("explain", "0x40d000", "--scenario", Sample("scenarios/teach-fault.yaml"), "--at", "end", "--pid", "1", "--json")));
        Assert.That(walk.GetProperty("walk").GetArrayLength(), Is.GreaterThan(3));
    }

    [Test]
    public void TheValidatorRejectsOutputsThatBreakTheContract()
    {
        string good = Ok(ReportTestFiles.Run("run", "--ideal", "--refs", "1,2,1", "--frames", "2", "--policy", "lru", "--json"));
        JsonElement schema = JsonSchemaCheck.Load("ideal.schema.json");
        foreach (var (bad, why) in new[]
        {
            (good.Replace("\"cold_faults\"", "\"coldFaults\"", StringComparison.Ordinal), "camelCase key"),
            (Regex.Replace(good, "\"schema\": 1", "\"schema\": 2"), "another schema version"),
            (Regex.Replace(good, "\"commit\": \"[^\"]*\"", "\"commit\": \"HEAD\""), "commit not a sha"),
            (good.Replace("\"seed\": 1,", "", StringComparison.Ordinal), "seed missing"),
            (good.Replace("\"frames\": 2", "\"frames\": 0", StringComparison.Ordinal), "no frames"),
        })
        {
            using var d = JsonDocument.Parse(bad);
            Assert.That(JsonSchemaCheck.Problems(schema, d.RootElement), Is.Not.Empty, why);
        }
    }
}
