using System.Text.Json;

namespace EcsMem.Tests.Report;

/// <summary>
/// <c>ecsmem run --snapshot WHEN</c>: the seed's mm_struct table, the VMAs and /proc/meminfo and buddyinfo at a
/// moment of the run, worked out by hand from an exec layout.
/// </summary>
public class SnapshotTests
{
    // exec of /bin/demo on x86-64 (ExecLayout): text 8K at 0x400000 (2 pages, file offset 0), data 4K on the next
    // page (file offset 0x2000), bss 8K anonymous above it, then the initial brk heap of 16K (start_brk = the end
    // of bss = 0x405000, brk = 0x409000); [vvar] (4 pages) and [vdso] (2 pages) just below mmap_base
    // (TASK_SIZE - 8 MiB rlimit - 1 MiB guard gap, clamped up to 128 MiB: 0x7ffff7fff000); the stack: 128 KiB below
    // the page of the argument strings plus that page (33 pages) up to TASK_SIZE 0x7ffffffff000.
    // map_count 7; total_vm 2 + 1 + 2 + 4 + 4 + 2 + 33 = 48 pages.
    // The trace: three stores to three heap pages, then a load from the first again.
    private const string Scenario = """
        machine:
          ram: 1M
          swap: 0
        processes:
          - name: demo
            layout:
              exec: {file: /bin/demo, text: 8K, data: 4K, bss: 8K, heap: 16K}
            workload:
              trace: {path: TRACE, format: lackey}
        """;

    private const string Trace = " S 00405000,8\n S 00406000,8\n S 00407000,8\n L 00405008,8\n";

    private static readonly string[] Maps =
    [
        "00400000-00402000 r-xp 00000000 00:00 0                                  /bin/demo",
        "00402000-00403000 rw-p 00002000 00:00 0                                  /bin/demo",
        "00403000-00405000 rw-p 00000000 00:00 0 ",
        "00405000-00409000 rw-p 00000000 00:00 0                                  [heap]",
        "7ffff7ff9000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar]",
        "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]",
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]",
    ];

    private static string[] Args(ReportTestFiles f, params string[] extra)
    {
        string trace = f.Write("t.lackey", Trace);
        string yaml = f.Write("s.yaml", Scenario.Replace("TRACE", trace, StringComparison.Ordinal));
        return ["run", yaml, .. extra];
    }

    private static JsonElement Json(string[] args)
    {
        var (code, json, err) = ReportTestFiles.Run([.. args, "--json"]);
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static JsonElement Mm(JsonElement snapshot) => snapshot.GetProperty("processes")[0].GetProperty("mm_struct");

    private static ulong U(JsonElement o, string key) => o.GetProperty(key).GetUInt64();

    [Test]
    public void ExecLayoutGivesTheHandWorkedMmStructAndMaps()
    {
        using var f = new ReportTestFiles();
        JsonElement s = Json(Args(f, "--snapshot", "3a")).GetProperty("snapshots")[0];
        Assert.That(s.GetProperty("when").GetString(), Is.EqualTo("3a"));
        Assert.That(s.GetProperty("accesses").GetInt64(), Is.EqualTo(3));
        JsonElement mm = Mm(s);
        Assert.That(U(mm, "map_count"), Is.EqualTo(7));
        Assert.That(U(mm, "total_vm"), Is.EqualTo(48));
        Assert.That(U(mm, "rss_anon"), Is.EqualTo(3));
        Assert.That(U(mm, "rss_file"), Is.EqualTo(0));
        Assert.That(U(mm, "locked_vm"), Is.EqualTo(0));
        Assert.That(U(mm, "start_code"), Is.EqualTo(0x400000));
        Assert.That(U(mm, "end_code"), Is.EqualTo(0x402000));
        Assert.That(U(mm, "start_data"), Is.EqualTo(0x402000));
        Assert.That(U(mm, "end_data"), Is.EqualTo(0x403000));
        Assert.That(U(mm, "start_brk"), Is.EqualTo(0x405000));
        Assert.That(U(mm, "brk"), Is.EqualTo(0x409000));
        Assert.That(U(mm, "mmap_base"), Is.EqualTo(0x7ffff7fff000));
        Assert.That(U(mm, "mm_users"), Is.EqualTo(1));
        Assert.That(U(mm, "mm_count"), Is.EqualTo(1));
        // One PTE table covers the heap's pages; with the PMD and PUD tables below the PGD: 3 pages of 4 KiB.
        Assert.That(U(mm, "nr_ptes"), Is.EqualTo(1));
        Assert.That(U(mm, "pgtables_bytes"), Is.EqualTo(3 * 4096));
        Assert.That(U(mm, "start_stack"), Is.LessThan(0x7ffffffff000UL));
        Assert.That(U(mm, "arg_start"), Is.LessThanOrEqualTo(U(mm, "arg_end")));
        Assert.That(U(mm, "env_end"), Is.LessThan(0x7ffffffff000UL));

        var vmas = s.GetProperty("processes")[0].GetProperty("vmas").EnumerateArray().ToArray();
        Assert.That(vmas.Select(v => v.GetProperty("maps").GetString()), Is.EqualTo(Maps));
        Assert.That(vmas.Select(v => v.GetProperty("vm_ops").GetString()),
            Is.EqualTo(new[] { "file", "file", "anonymous", "heap", "special", "special", "stack" }));
        Assert.That(vmas.Select(v => v.GetProperty("vm_pgoff").GetUInt64()),
            Is.EqualTo(new ulong[] { 0, 2, 0x403, 0x405, 0, 0, 0x7ffffffde }));
        string Names(int i) => string.Join('|', vmas[i].GetProperty("vm_flags_names").EnumerateArray().Select(n => n.GetString()));
        Assert.That(Names(0), Is.EqualTo("VM_READ|VM_EXEC|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC"));
        Assert.That(vmas[0].GetProperty("vm_flags").GetUInt64(), Is.EqualTo(0x75));
        Assert.That(Names(1), Is.EqualTo("VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC|VM_ACCOUNT"));
        Assert.That(vmas[1].GetProperty("vm_flags").GetUInt64(), Is.EqualTo(0x100073));
        Assert.That(Names(6), Is.EqualTo("VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC|VM_GROWSDOWN|VM_ACCOUNT"));
    }

    [Test]
    public void ExecMapsTheAddressSpaceWithRssZeroThenPagesArriveOneTouchAtATime()
    {
        using var f = new ReportTestFiles();
        JsonElement all = Json(Args(f, "--snapshot", "0a", "--snapshot", "1a", "--snapshot", "3a", "--snapshot", "4a"))
            .GetProperty("snapshots");
        ulong[] rss = all.EnumerateArray().Select(s => U(Mm(s), "rss_anon") + U(Mm(s), "rss_file")).ToArray();
        Assert.That(rss, Is.EqualTo(new ulong[] { 0, 1, 3, 3 }), "each store to a new heap page adds one page; the load of a touched one none");
        JsonElement first = all[0];
        Assert.That(first.GetProperty("cycles").GetUInt64(), Is.EqualTo(0));
        Assert.That(U(Mm(first), "map_count"), Is.EqualTo(7), "the VMAs exist before any access");
        Assert.That(U(Mm(first), "nr_ptes"), Is.EqualTo(0), "no page table below the PGD yet");
        Assert.That(first.GetProperty("processes")[0].GetProperty("vmas").GetArrayLength(), Is.EqualTo(7));
        // meminfo follows the touches: 3 anonymous pages = 12 kB.
        Assert.That(all[2].GetProperty("meminfo").GetProperty("AnonPages").GetInt64(), Is.EqualTo(12));
        Assert.That(all[0].GetProperty("meminfo").GetProperty("AnonPages").GetInt64(), Is.EqualTo(0));
        Assert.That(all[0].GetProperty("buddyinfo").GetArrayLength(), Is.EqualTo(11));
    }

    [Test]
    public void TextSectionsFollowTheReportAndLeaveItUnchanged()
    {
        using var f = new ReportTestFiles();
        string[] args = Args(f);
        var (c0, plain, e0) = ReportTestFiles.Run(args);
        Assert.That(c0, Is.EqualTo(0), e0);
        var (c1, text, e1) = ReportTestFiles.Run([.. args, "--snapshot", "2a", "--snapshot=end"]);
        Assert.That(c1, Is.EqualTo(0), e1);
        // Without --snapshot the report ends with the peak snapshot; given, the moments asked replace it.
        int peak = plain.IndexOf("\n== snapshot at peak (t=", StringComparison.Ordinal);
        Assert.That(peak, Is.GreaterThan(0));
        Assert.That(text, Does.StartWith(plain[..peak]));
        string added = text[peak..];
        Assert.That(added, Does.StartWith("\n== snapshot at 2a (t="));
        Assert.That(added, Does.Contain(", 2 accesses) ==\n"));
        Assert.That(added, Does.Contain("-- pid 1 (demo, running): mm_struct --\n"));
        Assert.That(added, Does.Contain("  map_count        7\n"));
        Assert.That(added, Does.Contain("  start_brk        0x405000\n"));
        Assert.That(added, Does.Contain("-- /proc/1/maps --\n" + string.Join('\n', Maps) + "\n"));
        Assert.That(added, Does.Contain("MemTotal:           1024 kB\n"));
        Assert.That(added, Does.Contain("Node 0, zone   Normal"));
        // end: every process has exited, so no address space is left; meminfo shows the empty machine.
        int end = added.IndexOf("== snapshot at end (t=", StringComparison.Ordinal);
        Assert.That(end, Is.GreaterThan(0));
        Assert.That(added[end..], Does.Contain(", 4 accesses) =="));
        Assert.That(added[end..], Does.Contain("(no live process"));
    }

    [Test]
    public void JsonAddsOnlyTheSnapshotsArrayAfterProcesses()
    {
        using var f = new ReportTestFiles();
        string[] args = [.. Args(f), "--json"];
        var (_, plain, _) = ReportTestFiles.Run(args);
        var (code, json, err) = ReportTestFiles.Run([.. args, "--snapshot", "end", "--snapshot", "1a"]);
        Assert.That(code, Is.EqualTo(0), err);
        // Every line outside the snapshots array is unchanged.
        string[] before = plain[..plain.IndexOf("  \"snapshots\": [", StringComparison.Ordinal)].Split('\n');
        string[] after = json.Split('\n');
        // Every line of the plain report is there, in order, unchanged.
        int j = 0;
        foreach (string line in before)
        {
            while (j < after.Length && after[j] != line) j++;
            Assert.That(j, Is.LessThan(after.Length), $"line missing or changed: {line}");
            j++;
        }
        using var doc = JsonDocument.Parse(json);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(keys.IndexOf("snapshots"), Is.EqualTo(keys.IndexOf("processes") + 1));
        // Without --snapshot the array holds the peak; the moments asked replace it.
        using var plainDoc = JsonDocument.Parse(plain);
        Assert.That(plainDoc.RootElement.GetProperty("snapshots").EnumerateArray().Select(x => x.GetProperty("when").GetString()),
            Is.EqualTo(new[] { "peak" }));
        JsonElement s = doc.RootElement.GetProperty("snapshots");
        Assert.That(s.EnumerateArray().Select(x => x.GetProperty("when").GetString()), Is.EqualTo(new[] { "end", "1a" }), "in the order given");
        Assert.That(s[0].GetProperty("processes").GetArrayLength(), Is.EqualTo(0));
        Assert.That(s[1].GetProperty("reached").GetBoolean(), Is.True);
        JsonElement v = s[1].GetProperty("processes")[0].GetProperty("vmas")[0];
        Assert.That(v.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "maps", "vm_start", "vm_end", "vm_pgoff", "vm_ops", "vm_flags", "vm_flags_names" }));
    }

    [Test]
    public void AccessAndCycleSnapshotsDoNotDependOnTheBatchSize()
    {
        string Sections(string batch)
        {
            var (code, text, err) = ReportTestFiles.Run("run", "--snapshot", "5000a", "--snapshot", "3000000", "--batch", batch);
            Assert.That(code, Is.EqualTo(0), err);
            return text[text.IndexOf("\n== snapshot at", StringComparison.Ordinal)..];
        }
        string one = Sections("1");
        Assert.That(one, Does.Contain("== snapshot at 5000a (t="));
        Assert.That(one, Does.Contain(", 5000 accesses) =="));
        Assert.That(Sections("4096"), Is.EqualTo(one));
    }

    [Test]
    public void AMomentAfterTheRunIsReportedAsNotReached()
    {
        using var f = new ReportTestFiles();
        var (code, text, err) = ReportTestFiles.Run([.. Args(f), "--snapshot", "1000a"]);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(text, Does.Contain("== snapshot at 1000a (not reached: the run ended at t="));
    }

    [TestCase("12x")]
    [TestCase("-5")]
    [TestCase("a")]
    [TestCase("")]
    [TestCase("pea")]
    public void BadWhenIsOneClearError(string when)
    {
        using var f = new ReportTestFiles();
        var (code, text, err) = ReportTestFiles.Run([.. Args(f), "--snapshot", when]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(text, Is.Empty);
        Assert.That(err, Does.Contain("--snapshot WHEN must be N (simulated cycles), Na (after N accesses), peak, end, or none alone"));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
    }
}
