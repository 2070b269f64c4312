using EcsMem.Diagnostics;
using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Traces;
using NUnit.Framework;

namespace EcsMem.Tests.Policies;

/// <summary>
/// <see cref="PageReadAhead"/>: the trace read on a second thread must reach the replay as one thread reads it,
/// in a binary trace and a page list, longer than the ring of buffers, and a bad record must stop the run with
/// the reader's own error.
/// </summary>
public class ReadAheadTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ecsmem-readahead-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    /// <summary>700,000 references (more than the ring's 4 × 64Ki) over 20,000 pages, half of them to 500 hot ones.</summary>
    private static ulong[] Pages()
    {
        var rng = new TestRng(5);
        var pages = new ulong[700_000];
        for (int i = 0; i < pages.Length; i++)
            pages[i] = 0x100 + (rng.Next() % 2 == 0 ? rng.Next() % 500 : rng.Next() % 20_000);
        return pages;
    }

    private string Binary(ulong[] pages)
    {
        string path = Path.Combine(_dir, "t.bin");
        using var w = new BinaryTraceWriter(path);
        w.Write(pages.Select(p => new MemoryAccess(p << 12 | 0x18, 1, 8, AccessKind.Load)).ToArray());
        w.Complete();
        return path;
    }

    private string PageList(ulong[] pages)
    {
        string path = Path.Combine(_dir, "t.pages");
        File.WriteAllLines(path, pages.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return path;
    }

    private static (IdealResult Result, List<ulong> Victims) Run(string format, string path, bool readAhead, string policy)
    {
        using ITraceReader reader = TraceFormats.OpenReader(format, path);
        var sim = new IdealSimulator(3000, PolicyRegistry.Create(policy, new PolicyOptions(1))) { ReadAhead = readAhead, EvictionLog = [] };
        sim.Run(reader);
        return (sim.Result, sim.EvictionLog!);
    }

    [Test]
    public void ReadingAheadGivesTheResultsOfOneThread([Values("binary", "pages")] string format, [Values("lru", "clock", "random")] string policy)
    {
        ulong[] pages = Pages();
        string path = format == "binary" ? Binary(pages) : PageList(pages);
        var ahead = Run(format, path, true, policy);
        var single = Run(format, path, false, policy);
        // And both equal the replay of the array itself, which reads no file at all.
        var array = new IdealSimulator(3000, PolicyRegistry.Create(policy, new PolicyOptions(1))) { EvictionLog = [] };
        array.Run(pages);
        Assert.That(ahead.Result, Is.EqualTo(single.Result));
        Assert.That(ahead.Result, Is.EqualTo(array.Result));
        Assert.That(ahead.Victims, Is.EqualTo(array.EvictionLog));
        Assert.That(ahead.Result.References, Is.EqualTo(pages.Length));
    }

    [Test]
    public void ABadLineFarIntoTheTraceIsTheReadersOwnError()
    {
        string path = Path.Combine(_dir, "bad.pages");
        var lines = Pages().Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        lines[300_000] = "0xZZ";
        File.WriteAllLines(path, lines);
        foreach (bool readAhead in new[] { true, false })
        {
            var e = Assert.Throws<InputException>(() => Run("pages", path, readAhead, "lru"))!;
            Assert.That(e.Message, Does.Contain(":300001:"), readAhead ? "read ahead" : "one thread");
        }
    }

    [Test]
    public void StoppingEarlyLeavesNoReaderThreadBehind()
    {
        // The replay gives up after the first batch (as on Ctrl-C): Dispose must stop the reader, which is still
        // filling buffers, and return, so the caller can close the file.
        string path = Binary(Pages());
        using (ITraceReader reader = TraceFormats.OpenReader("binary", path))
        using (var ahead = new PageReadAhead(reader))
        {
            Assert.That(ahead.Next().Length, Is.EqualTo(1 << 16));
        }
        using var again = TraceFormats.OpenReader("binary", path);
        Assert.That(again.Read(new MemoryAccess[4]), Is.EqualTo(4));
    }
}
