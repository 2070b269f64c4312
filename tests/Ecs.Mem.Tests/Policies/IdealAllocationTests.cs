using EcsMem.Systems.Ideal;
using EcsMem.Systems.Policies;
using EcsMem.Tests.Traces;
using EcsMem.Traces;

namespace EcsMem.Tests.Policies;

/// <summary>
/// The ideal mode's steady state allocates nothing per reference (issue 19 item 7): the replay once the page map
/// holds every page of the string, and the binary reader's decoding to page numbers once it is open.
/// </summary>
public class IdealAllocationTests
{
    [Test]
    public void AWarmReplayAllocatesNothing([Values("lru", "fifo", "clock", "linux", "arc", "lfu", "random")] string policy)
    {
        ulong[] pages = TestTraces.Zipf(11, 200_000, 5_000, 0.9);
        var sim = new IdealSimulator(1_000, PolicyRegistry.Create(policy, new PolicyOptions(1)));
        sim.Run(pages); // the first pass adds every page to the map (it grows)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < pages.Length; i += 4096)
            sim.Run(pages.AsSpan(i, Math.Min(4096, pages.Length - i)));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(sim.Result.References, Is.EqualTo(2 * pages.Length));
    }

    [Test]
    public void DecodingToPageNumbersAllocatesNothing([Values(1, 2)] int version)
    {
        using var dir = new TempDir();
        var parts = new List<byte[]> { BinaryTraceTests.Header(version: (ushort)version, recordSize: version == 1 ? 16u : 24u) };
        for (int i = 0; i < 200_000; i++)
            parts.Add(version == 1 ? BinaryTraceTests.Record(1, 1, 8, (ulong)i * 4096) : BinaryTraceV2Tests.RecordV2(1, 2, 1, 8, (ulong)i * 4096));
        string path = TraceTestFiles.Write(dir.File("t.bin"), BinaryTraceTests.Concat(parts.ToArray()), Packing.Plain);
        using var reader = TraceFormats.OpenReader("binary", path);
        var pages = new ulong[4096];
        ((IPageReader)reader).ReadPages(pages); // the first block
        long before = GC.GetAllocatedBytesForCurrentThread();
        long total = 4096, n;
        while ((n = ((IPageReader)reader).ReadPages(pages)) > 0)
            total += n;
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(total, Is.EqualTo(200_000));
        Assert.That(pages[(200_000 - 1) % 4096], Is.EqualTo(199_999UL)); // the last page read: address >> 12
    }
}
