using System.IO.Compression;
using EcsMem.Cli;
using EcsMem.Systems.Caches;
using EcsMem.Tests.Caches;
using EcsMem.Traces;

namespace EcsMem.Tests.CacheLines;

/// <summary>
/// <c>run --ideal</c> and <c>run --cachegrind</c> open traces through TraceFormats, so every format and
/// compression gives the same result as the plain original.
/// </summary>
public class RunModeTraceOpeningTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ecsmem-cachelines-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void Clean() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>
    /// 4000 references: mostly a 40-page working set, now and then one of 400 other pages. Each access is
    /// at a random byte offset inside its page, so a reader that did not take address &gt;&gt; 12 would differ.
    /// </summary>
    private static MemoryAccess[] Accesses()
    {
        var rng = new SplitMix64(17);
        var a = new MemoryAccess[4000];
        for (int i = 0; i < a.Length; i++)
        {
            ulong r = rng.Next();
            ulong page = (r & 7) == 0 ? 1000 + (r >> 8) % 400 : (r >> 8) % 40;
            ulong offset = (r >> 40) % 4000;
            a[i] = new MemoryAccess((page << 12) + offset, 0, 4, (r & 16) != 0 ? AccessKind.Store : AccessKind.Load);
        }
        return a;
    }

    private string Write(string format, string name, MemoryAccess[] accesses)
    {
        string path = Path.Combine(_dir, name);
        using var w = TraceFormats.CreateWriter(format, path);
        w.Write(accesses);
        w.Complete();
        return path;
    }

    private static string Compress(string path, string how)
    {
        string outPath = path + (how == "gzip" ? ".gz" : ".zst");
        using (var input = File.OpenRead(path))
        using (var output = File.Create(outPath))
        {
            if (how == "gzip")
            {
                using var z = new GZipStream(output, CompressionLevel.Optimal);
                input.CopyTo(z);
            }
            else
            {
                using var z = new ZstdSharp.CompressionStream(output, 3);
                input.CopyTo(z);
            }
        }
        return outPath;
    }

    /// <summary>The report without the lines naming the trace file and its format (the only lines allowed to differ).</summary>
    private static string Figures(string report) =>
        string.Join("\n", report.Split('\n').Where(l => !l.StartsWith("trace:", StringComparison.Ordinal)));

    [TestCase("pages", "zstd", "lru")]
    [TestCase("pages", "gzip", "fifo")]
    [TestCase("binary", "none", "lru")]
    [TestCase("binary", "zstd", "opt")]
    [TestCase("lackey", "gzip", "clock")]
    [TestCase("pinatrace", "none", "lru")]
    public void IdealModeGivesThePlainPagesResultForAnyFormat(string format, string compression, string policy)
    {
        var accesses = Accesses();
        string plain = Write("pages", "ref.pages", accesses);
        string other = Write(format, "t." + format, accesses);
        if (compression != "none")
            other = Compress(other, compression);

        var (code0, expected, err0) = Cli("run", "--ideal", "--trace", plain, "--frames", "24", "--policy", policy);
        // The binary format is recognised by its header, so it needs no --trace-format.
        string[] formatArgs = format == "binary" ? [] : ["--trace-format", format];
        var (code1, actual, err1) = Cli(["run", "--ideal", "--trace", other, .. formatArgs, "--frames", "24", "--policy", policy]);
        Assert.That(err0 + err1, Is.Empty);
        Assert.That((code0, code1), Is.EqualTo((0, 0)));
        Assert.That(actual, Does.Contain($"trace:           {other} ({format})\n"));
        Assert.That(Figures(actual), Is.EqualTo(Figures(expected)));

        // And the figures are right: the reference count, and hits + faults = references.
        Assert.That(expected, Does.Contain("references:      4000\n"));
        var (_, json, _) = Cli(["run", "--ideal", "--trace", other, .. formatArgs, "--frames", "24", "--policy", policy, "--json"]);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.That(doc.RootElement.GetProperty("trace_format").GetString(), Is.EqualTo(format));
        Assert.That(doc.RootElement.GetProperty("hits").GetInt64() + doc.RootElement.GetProperty("faults").GetInt64(), Is.EqualTo(4000));
    }

    [Test]
    public void IdealModeMatchesADirectReferenceCountOfLru()
    {
        // Independent check of the binary path: LRU faults computed here with a plain list.
        var accesses = Accesses();
        string bin = Compress(Write("binary", "t.bin", accesses), "zstd");
        var (code, json, err) = Cli("run", "--ideal", "--trace", bin, "--frames", "24", "--policy", "lru", "--json");
        Assert.That(err, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        var lru = new List<ulong>();
        int faults = 0;
        foreach (var a in accesses)
        {
            ulong page = a.Address >> 12;
            if (!lru.Remove(page))
            {
                faults++;
                if (lru.Count == 24)
                    lru.RemoveAt(0);
            }
            lru.Add(page);
        }
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.That(doc.RootElement.GetProperty("faults").GetInt64(), Is.EqualTo(faults));
    }

    [Test]
    public void CachegrindModeOnTheGzipLackeySampleStillMatchesCachegrind()
    {
        string dir = CachegrindAgreementTests.SamplesDir();
        string expected = CachegrindAgreementTests.CachegrindSummary(Path.Combine(dir, "hashlist.small.cachegrind.txt"));
        // No --trace-format: Lackey is the default for a text trace.
        var (code, stdout, stderr) = Cli("run", "--cachegrind", "--trace", Path.Combine(dir, "hashlist.lackey.gz"),
            "--I1", "8192,2,32", "--D1", "8192,4,32", "--LL", "131072,8,64");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Is.EqualTo(expected));
    }

    [TestCase("binary", "zstd")]
    [TestCase("lackey", "zstd")]
    [TestCase("binary", "gzip")]
    public void CachegrindModeReadsOtherFormatsOfTheSameTrace(string format, string compression)
    {
        // Convert the stored Lackey trace of a real program and check the result is still real Cachegrind's.
        string dir = CachegrindAgreementTests.SamplesDir();
        string converted = Path.Combine(_dir, "matmul." + format);
        using (var reader = TraceFormats.OpenReader("lackey", Path.Combine(dir, "matmul.lackey.gz")))
        using (var writer = TraceFormats.CreateWriter(format, converted))
        {
            TraceFormats.Copy(reader, writer);
            writer.Complete();
        }
        string path = Compress(converted, compression);
        var (code, stdout, stderr) = Cli("run", "--cachegrind", "--trace", path, "--trace-format", format,
            "--I1", "8192,2,32", "--D1", "8192,4,32", "--LL", "131072,8,64");
        Assert.That(stderr, Is.Empty);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Is.EqualTo(CachegrindAgreementTests.CachegrindSummary(Path.Combine(dir, "matmul.small.cachegrind.txt"))));
    }

    [Test]
    public void CorruptCompressedTraceIsBadInput()
    {
        string path = Path.Combine(_dir, "bad.pages.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        var (code, stdout, stderr) = Cli("run", "--ideal", "--trace", path, "--frames", "4", "--policy", "lru");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.StartWith("ecsmem: error: " + path));
        (code, _, stderr) = Cli("run", "--cachegrind", "--trace", path);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith("ecsmem: error: " + path));
    }
}
