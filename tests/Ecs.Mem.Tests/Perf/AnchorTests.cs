using System.Text.Json;
using EcsMem.Tests.ScaleOut;

namespace EcsMem.Tests.Perf;

/// <summary>
/// The C anchor (perf/anchor/anchor.c, the full machine's per-access work in plain C, built here with gcc) and
/// ecsmem must count the same on the same trace: TLB hits and misses, cache accesses, misses and write-backs,
/// faults, translation and memory cycles. The anchor is a separate implementation (C, its own TLBs, caches, page
/// tables, inferred layout and frame allocator), so equality checks both: the anchor does the same work as the
/// machine it is timed against (perf/anchor/run.sh), and the machine's hot path against an independent model.
/// </summary>
[TestFixture]
[NonParallelizable]
public class AnchorTests
{
    private string _dir = "";
    private string _anchor = "";

    [OneTimeSetUp]
    public void BuildAnchor()
    {
        _dir = Directory.CreateTempSubdirectory("ecsmem-anchor-").FullName;
        _anchor = Path.Combine(_dir, "anchor");
        string source = Path.Combine(EcsmemProcess.RepoRoot, "perf", "anchor", "anchor.c");
        (int code, string _, string err) = (-1, "", "");
        try
        {
            (code, _, err) = EcsmemProcess.Run(_dir, null, 120, "gcc", "-O2", "-o", _anchor, source);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore("gcc is not installed");
        }
        if (code == 127)
            Assert.Ignore("gcc is not installed");
        Assert.That(code, Is.Zero, "gcc: " + err);
    }

    [OneTimeTearDown]
    public void Clean()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    private string Trace(string name, params string[] ecsmemArgs)
    {
        string path = Path.Combine(_dir, name + ".bin");
        if (!File.Exists(path))
        {
            var r = EcsmemProcess.Ecsmem(_dir, null, [.. ecsmemArgs, "--out", path, "-q"]);
            Assert.That(r.Code, Is.Zero, r.Err);
        }
        return path;
    }

    private static Dictionary<string, long> Ecsmem(string dir, string trace)
    {
        string json = Path.Combine(dir, Path.GetFileNameWithoutExtension(trace) + ".json");
        var r = EcsmemProcess.Ecsmem(dir, null, "run", "--trace", trace, "--trace-format", "binary", "--snapshot", "none", "--json", "-o", json, "-q");
        Assert.That(r.Code, Is.Zero, r.Err);
        using JsonDocument d = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = d.RootElement;
        var c = new Dictionary<string, long>();
        foreach (string t in new[] { "dtlb", "itlb", "stlb" })
        {
            c[t + "_hits"] = root.GetProperty("tlb").GetProperty(t).GetProperty("hits").GetInt64();
            c[t + "_misses"] = root.GetProperty("tlb").GetProperty(t).GetProperty("misses").GetInt64();
        }
        foreach (string level in new[] { "L1i", "L1d", "L2", "L3" })
        {
            foreach (string k in new[] { "accesses", "misses", "writebacks" })
                c[$"{level}_{k}"] = root.GetProperty("caches").GetProperty(level).GetProperty(k).GetInt64();
        }
        JsonElement time = root.GetProperty("time");
        c["accesses"] = time.GetProperty("accesses").GetInt64();
        c["translation_cycles"] = time.GetProperty("cycles_by_category").GetProperty("translation").GetProperty("cycles").GetInt64();
        c["memory_cycles"] = time.GetProperty("cycles_by_category").GetProperty("memory").GetProperty("cycles").GetInt64();
        JsonElement faults = root.GetProperty("faults");
        c["pgfault"] = faults.GetProperty("pgfault").GetInt64();
        c["zero_page"] = faults.GetProperty("ecsmem_zero_page_map").GetInt64();
        c["cow_copy"] = faults.GetProperty("ecsmem_cow_copy").GetInt64();
        c["nr_tlb_local_flush_one"] = root.GetProperty("tlb").GetProperty("events").GetProperty("nr_tlb_local_flush_one").GetInt64();
        return c;
    }

    private Dictionary<string, long> Anchor(string trace)
    {
        var r = EcsmemProcess.Run(_dir, null, 120, _anchor, trace);
        Assert.That(r.Code, Is.Zero, r.Err);
        return r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private void AssertSameCounts(string trace)
    {
        Dictionary<string, long> machine = Ecsmem(_dir, trace), anchor = Anchor(trace);
        Assert.That(machine["accesses"], Is.GreaterThan(0));
        foreach (var (name, value) in machine)
        {
            Assert.That(anchor.ContainsKey(name), name + " missing from the anchor's output");
            Assert.That(anchor[name], Is.EqualTo(value), name);
        }
    }

    /// <summary>
    /// A real program (Lackey trace of the matmul sample): code and data in 2 MiB blocks, zero-page reads, copies
    /// on the first write, VMAs widened from r-x to rwx (their PTEs rewritten, range and full TLB flushes).
    /// </summary>
    [Test]
    public void MatmulCountsEqual()
    {
        string lackey = Path.Combine(EcsmemProcess.RepoRoot, "samples", "cachegrind", "matmul.lackey.gz");
        AssertSameCounts(Trace("matmul", "convert", lackey, "--to", "binary"));
    }

    /// <summary>Miss-heavy: zipf over 12,000 pages, a third writes; most accesses walk, miss L1d and evict dirty lines.</summary>
    [Test]
    public void MissHeavyZipfCountsEqual() =>
        AssertSameCounts(Trace("zipf", "gen", "zipf:count=300000,pages=12000,alpha=0.6,writes=0.3,seed=5,base=0x10000000"));

    /// <summary>Accesses that straddle cache lines and pages, and read-modify-writes, over a sequential sweep.</summary>
    [Test]
    public void SequentialStraddlingCountsEqual() =>
        AssertSameCounts(Trace("seq", "gen", "seq:count=200000,base=0x10000ffc,elem=8,writes=0.5,seed=3"));

    /// <summary>The anchor models one process: a trace of two is refused with one line and exit 2, not miscounted.</summary>
    [Test]
    public void AnchorRefusesTwoProcesses()
    {
        string path = Path.Combine(_dir, "two.bin");
        var bytes = new byte[32 + 2 * 16];
        EcsMem.Traces.BinaryTraceFormat.WriteHeader(bytes, 2);
        for (int i = 0; i < 2; i++)
        {
            Span<byte> rec = bytes.AsSpan(32 + i * 16, 16);
            BitConverter.TryWriteBytes(rec, (uint)(i + 1)); // process
            rec[4] = 1;                                      // load
            BitConverter.TryWriteBytes(rec[6..], (ushort)8);
            BitConverter.TryWriteBytes(rec[8..], 0x10000000UL);
        }
        File.WriteAllBytes(path, bytes);
        var r = EcsmemProcess.Run(_dir, null, 60, _anchor, path);
        Assert.That(r.Code, Is.EqualTo(2));
        Assert.That(r.Err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(r.Err, Does.Contain("two.bin:2"));
    }
}
