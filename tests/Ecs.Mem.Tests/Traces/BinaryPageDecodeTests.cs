using EcsMem.Diagnostics;
using EcsMem.Traces;
using Rng = EcsMem.Tests.Policies.TestRng;

namespace EcsMem.Tests.Traces;

/// <summary>
/// <see cref="BinaryTraceReader.ReadPages"/>, the binary reader's decoding straight to page numbers (the ideal mode's
/// path, issue 19 item 3), against the documented layout: pages are the records' addresses &gt;&gt; 12, computed here
/// from the addresses the test wrote; and every corrupted file gives the same error, or none, as
/// <see cref="BinaryTraceReader.Read"/>, where the error is expected exactly when the corrupted record breaks one of
/// the format's rules (docs/traces.md) as checked here field by field.
/// </summary>
public class BinaryPageDecodeTests
{
    /// <summary>
    /// A file of <paramref name="count"/> random valid records built by hand (v1: 16 bytes, v2: 24), the header
    /// declaring the count or 0 (unknown); returns the bytes and the addresses.
    /// </summary>
    private static (byte[] File, ulong[] Addresses) RandomFile(int version, int count, ulong seed, bool declared)
    {
        var rng = new Rng(seed);
        var addresses = new ulong[count];
        var parts = new List<byte[]> { BinaryTraceTests.Header(version: (ushort)version, recordSize: version == 1 ? 16u : 24u, count: declared ? (ulong)count : 0) };
        for (int i = 0; i < count; i++)
        {
            ulong address = rng.Next() >> (int)rng.Below(64); // every magnitude, top bits included
            addresses[i] = address;
            uint process = (uint)(rng.Next() >> 33); // at most 2^31 - 1
            byte kind = (byte)rng.Below(4);
            ushort size = (ushort)(1 + rng.Below(65535));
            parts.Add(version == 1
                ? BinaryTraceTests.Record(process, kind, size, address)
                : BinaryTraceV2Tests.RecordV2(process, rng.Below(256), kind, size, address));
        }
        return (BinaryTraceTests.Concat(parts.ToArray()), addresses);
    }

    private static List<ulong> ReadPages(string path, int batch)
    {
        using var r = TraceFormats.OpenReader("binary", path);
        var reader = (IPageReader)r;
        var pages = new List<ulong>();
        var buffer = new ulong[batch];
        int n;
        while ((n = reader.ReadPages(buffer)) > 0)
            pages.AddRange(buffer.AsSpan(0, n).ToArray());
        return pages;
    }

    [Test]
    public void PagesAreTheAddressesShiftedAcrossBlocks([Values(1, 2)] int version, [Values(1, 7, 4096, 65536)] int batch, [Values(true, false)] bool declared)
    {
        // 100,000 records = 1.6 MB (v1) or 2.4 MB (v2): the reader's 1 MiB blocks end inside a record for v2.
        using var dir = new TempDir();
        var (file, addresses) = RandomFile(version, 100_000, (ulong)(version * 31 + batch), declared);
        string path = TraceTestFiles.Write(dir.File("t.bin"), file, Packing.Plain);
        Assert.That(ReadPages(path, batch), Is.EqualTo(addresses.Select(a => a >> 12)));
    }

    [Test]
    public void AGzippedTraceGivesTheSamePages([Values(1, 2)] int version)
    {
        using var dir = new TempDir();
        var (file, addresses) = RandomFile(version, 20_000, 5, declared: true);
        string path = TraceTestFiles.Write(dir.File("t.bin.gz"), file, Packing.Gzip);
        Assert.That(ReadPages(path, 4096), Is.EqualTo(addresses.Select(a => a >> 12)));
    }

    /// <summary>Whether a record breaks a rule of docs/traces.md, read field by field from its bytes.</summary>
    private static bool Invalid(int version, ReadOnlySpan<byte> r)
    {
        uint process = BitConverter.ToUInt32(r);
        if (version == 1)
            return process > int.MaxValue || r[4] > 3 || r[5] != 0 || BitConverter.ToUInt16(r[6..]) == 0;
        return process > int.MaxValue || BitConverter.ToUInt32(r[4..]) > 255 || r[8] > 3 || r[9] != 0
            || BitConverter.ToUInt16(r[10..]) == 0 || BitConverter.ToUInt32(r[12..]) != 0;
    }

    /// <summary>Every access of a file through <see cref="ITraceReader.Read"/>, or the error it ends in.</summary>
    private static (List<MemoryAccess>? Accesses, string? Error) ReadAccesses(string path)
    {
        try
        {
            using var r = TraceFormats.OpenReader("binary", path);
            return (TraceTestFiles.ReadAll(r, 4096), null);
        }
        catch (InputException e)
        {
            return (null, e.Message);
        }
    }

    [Test]
    public void EveryCorruptionGivesTheSameErrorAsTheAccessPath([Values(1, 2)] int version)
    {
        int size = version == 1 ? 16 : 24;
        var (good, _) = RandomFile(version, 3_000, 77, declared: true);
        var rng = new Rng(1000 + (ulong)version);
        using var dir = new TempDir();
        int errors = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            byte[] file = (byte[])good.Clone();
            // One to three bytes of one record's fields before the address (where every rule lives), sometimes
            // a second record too; a few trials leave the file valid (a byte set to the value it had).
            int records = 1 + (int)rng.Below(2);
            for (int k = 0; k < records; k++)
            {
                int record = (int)rng.Below(3_000);
                int bytes = 1 + (int)rng.Below(3);
                for (int b = 0; b < bytes; b++)
                {
                    int offset = 32 + record * size + (int)rng.Below((uint)(size - 8));
                    file[offset] = rng.Below(4) == 0 ? (byte)rng.Below(4) : (byte)rng.Next();
                }
            }
            string path = TraceTestFiles.Write(dir.File($"c{trial}.bin"), file, Packing.Plain);
            int firstBad = -1;
            for (int i = 0; i < 3_000 && firstBad < 0; i++)
                if (Invalid(version, file.AsSpan(32 + i * size, size))) firstBad = i;
            var (accesses, accessError) = ReadAccesses(path);
            string? pageError = null;
            List<ulong>? pages = null;
            try
            {
                pages = ReadPages(path, 1 + (int)rng.Below(5000));
            }
            catch (InputException e)
            {
                pageError = e.Message;
            }
            Assert.That(pageError, Is.EqualTo(accessError), $"trial {trial}");
            if (firstBad < 0)
            {
                Assert.That(accessError, Is.Null, $"trial {trial}: a valid file");
                Assert.That(pages, Is.EqualTo(accesses!.Select(a => a.Address >> 12)), $"trial {trial}");
            }
            else
            {
                errors++;
                Assert.That(pageError, Does.StartWith($"{path}:{firstBad + 1}: "), $"trial {trial}: the first bad record");
            }
        }
        // Both outcomes were tried many times: a process id's low bytes or a new size are still valid.
        Assert.That(errors, Is.InRange(100, 380));
    }
}
