using System.IO.Compression;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Tests.Caches;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// <see cref="ReadAheadTraceReader"/>: the accesses and errors of the reader it runs on its own thread, whatever
/// the caller's batch size, and nothing allocated per block in steady state.
/// </summary>
public class ReadAheadTraceReaderTests
{
    private static List<MemoryAccess> Drain(ITraceReader reader, int batch, out InputException? error)
    {
        var all = new List<MemoryAccess>();
        var buf = new MemoryAccess[batch];
        error = null;
        try
        {
            int n;
            while ((n = reader.Read(buf)) > 0)
                all.AddRange(buf.AsSpan(0, n).ToArray());
        }
        catch (InputException e)
        {
            error = e;
        }
        return all;
    }

    private static LackeyReader Lackey(string gzPath) =>
        new(new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress), gzPath);

    [TestCase("matmul", 4096)]
    [TestCase("sort", 1000)]
    [TestCase("hashlist", 10_000)]
    [TestCase("matmul", 1)]
    public void SameAccessesAsTheReaderItRuns(string program, int batch)
    {
        string path = Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".lackey.gz");
        List<MemoryAccess> direct, ahead;
        using (var r = Lackey(path))
            direct = Drain(r, 4096, out _);
        using (var r = new ReadAheadTraceReader(Lackey(path)))
            ahead = Drain(r, batch, out var error);
        Assert.That(direct, Has.Count.GreaterThan(500_000));
        Assert.That(ahead, Is.EqualTo(direct));
    }

    /// <summary>An error at line N after many blocks: the same exception (file, line, text, problem), and with a
    /// batch of <see cref="ReadAheadTraceReader.BlockRecords"/> the same accesses delivered before it.</summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(4095)]
    [TestCase(4096)]
    [TestCase(50_001)]
    public void AnErrorIsReportedAtTheSameLineAfterTheSameAccesses(int goodLines)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < goodLines; i++)
            sb.Append("I  ").Append((0x400000 + i).ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append(",2\n");
        sb.Append("hello from the program\n");
        for (int i = 0; i < 10_000; i++)
            sb.Append(" L 00601000,8\n");
        byte[] text = Encoding.ASCII.GetBytes(sb.ToString());

        var direct = Drain(new LackeyReader(new MemoryStream(text), "e.lackey"), ReadAheadTraceReader.BlockRecords, out var e1);
        List<MemoryAccess> ahead;
        InputException? e2;
        using (var r = new ReadAheadTraceReader(new LackeyReader(new MemoryStream(text), "e.lackey")))
        {
            ahead = Drain(r, ReadAheadTraceReader.BlockRecords, out e2);
            // Reading again after the error raises it again rather than returning a shorter trace.
            Assert.Throws<InputException>(() => r.Read(new MemoryAccess[16]));
        }
        Assert.That(e1, Is.Not.Null);
        Assert.That(e2, Is.Not.Null);
        Assert.That((e2!.Origin, e2.Line, e2.Value, e2.Problem), Is.EqualTo((e1!.Origin, e1.Line, e1.Value, e1.Problem)));
        Assert.That(e2.Line, Is.EqualTo(goodLines + 1));
        Assert.That(ahead, Is.EqualTo(direct));
        Assert.That(ahead, Has.Count.EqualTo(goodLines / ReadAheadTraceReader.BlockRecords * ReadAheadTraceReader.BlockRecords));
    }

    [Test]
    public void DisposingBeforeTheEndStopsTheProducer()
    {
        string path = Path.Combine(CachegrindAgreementTests.SamplesDir(), "sort.lackey.gz");
        var inner = Lackey(path);
        var r = new ReadAheadTraceReader(inner);
        Assert.That(r.Read(new MemoryAccess[100]), Is.EqualTo(100));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        r.Dispose();
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        r.Dispose();   // twice is harmless
    }

    /// <summary>Steady state: the ring's blocks and events are made at construction; reading allocates nothing on
    /// either thread (GC.GetTotalAllocatedBytes counts both).</summary>
    [Test]
    public void ReadingAheadAllocatesNothingPerBlock()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 400_000; i++)
            sb.Append(i % 3 == 0 ? " S " : "I  ").Append((0x400000 + i * 4).ToString("x8", System.Globalization.CultureInfo.InvariantCulture)).Append(",4\n");
        using var r = new ReadAheadTraceReader(new LackeyReader(new MemoryStream(Encoding.ASCII.GetBytes(sb.ToString())), "a.lackey"));
        var buffer = new MemoryAccess[ReadAheadTraceReader.BlockRecords];
        long total = 0;
        for (int i = 0; i < 10; i++)
            total += r.Read(buffer);
        long allocated = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 20; i++)
                total += r.Read(buffer);
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        Assert.That(total, Is.EqualTo(70 * 4096));
        Assert.That(allocated, Is.Zero);
    }
}
