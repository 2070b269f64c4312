using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Every trace reader gets thousands of mutated and random inputs (all small): the only exception allowed out is
/// InputException, no case may hang (the whole run has a deadline), read more accesses than its input could
/// hold, or allocate more than a bounded amount.
/// </summary>
public class TraceReaderFuzzTests
{
    private const int CasesPerSeed = 4000;
    private const long MaxAllocatedPerCase = 8L << 20;

    private static byte[] ValidSample(string format)
    {
        switch (format)
        {
            case "lackey":
                return Encoding.ASCII.GetBytes("==123== Lackey\nI  0401ab70,3\n L 1fff000648,8\n S 1fff000650,8\n M 0601040,4\nI  0401ab73,2\n L 7ff0001000,16\n");
            case "pinatrace":
                return Encoding.ASCII.GetBytes("0x401234: R 0x7ffd1234\n0x401238: W 0x7ffd1240\n0x40123c: R 0x601040\n#eof\n");
            case "pages":
                return Encoding.ASCII.GetBytes("1\n2\n4096\n7\n123456\n0\n");
            case "binary":
                {
                    string path = Path.Combine(Path.GetTempPath(), $"ecsmem-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
                    try
                    {
                        using (var w = TraceFormats.CreateWriter("binary", path))
                        {
                            w.Write(new MemoryAccess[]
                            {
                                new(0x401000, 1, 4, AccessKind.Instr), new(0x7ffd1234, 1, 8, AccessKind.Load),
                                new(0x601040, 2, 8, AccessKind.Store), new(0x601048, 2, 4, AccessKind.Modify),
                            });
                            w.Complete();
                        }
                        return File.ReadAllBytes(path);
                    }
                    finally
                    {
                        File.Delete(path);
                    }
                }
            default:
                throw new ArgumentException(format);
        }
    }

    /// <summary>Reads <paramref name="input"/> to the end; returns the accesses read, or -1 for an InputException.</summary>
    private static long ReadAll(string format, byte[] input)
    {
        TraceReaderFactory factory = TraceFormats.Get(format).Reader!;
        var buffer = new MemoryAccess[64];
        long n = 0;
        try
        {
            using ITraceReader r = factory(new MemoryStream(input, writable: false), "fuzz");
            int got;
            while ((got = r.Read(buffer)) > 0)
            {
                n += got;
                // A reader cannot produce more accesses than its input has bytes (the shortest record is "0\n").
                if (n > input.Length + 1)
                    throw new AssertionException($"{format}: {n} accesses from {input.Length} bytes");
            }
            return n;
        }
        catch (InputException)
        {
            return -1;
        }
    }

    [TestCase("lackey", 1UL)]
    [TestCase("pinatrace", 2UL)]
    [TestCase("pages", 3UL)]
    [TestCase("binary", 4UL)]
    public void MutatedInputsOnlyRaiseInputException(string format, ulong seed)
    {
        byte[] valid = ValidSample(format);
        Assert.That(ReadAll(format, valid), Is.GreaterThan(0), "the seed input is valid");
        int accepted = 0, rejected = 0;
        var run = Task.Run(() =>
        {
            var rng = new ReliabilityRng(seed);
            for (int i = 0; i < CasesPerSeed; i++)
            {
                byte[] input = i % 5 == 4 ? InputMutator.RandomBytes(ref rng, 200) : InputMutator.Mutate(valid, ref rng);
                long before = GC.GetAllocatedBytesForCurrentThread();
                long n;
                try
                {
                    n = ReadAll(format, input);
                }
                catch (Exception e) when (e is not AssertionException)
                {
                    throw new AssertionException($"{format} case {i}: {e.GetType().Name}: {e.Message}\ninput (base64): {Convert.ToBase64String(input)}", e);
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated > MaxAllocatedPerCase)
                    throw new AssertionException($"{format} case {i}: allocated {allocated} bytes for a {input.Length}-byte input");
                if (n < 0) rejected++;
                else accepted++;
            }
        });
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "a case hung");
        run.GetAwaiter().GetResult();
        TestContext.Out.WriteLine($"{format}: {accepted} accepted, {rejected} rejected");
        // Both outcomes must occur, or the mutations are not exercising the parser.
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }

    /// <summary>Corrupt gzip and zstd files go through TraceFile's decompression: still only InputException.</summary>
    [TestCase("gzip", "lackey", 5UL)]
    [TestCase("gzip", "pinatrace", 6UL)]
    [TestCase("gzip", "pages", 7UL)]
    [TestCase("gzip", "binary", 8UL)]
    [TestCase("zstd", "lackey", 9UL)]
    [TestCase("zstd", "pinatrace", 10UL)]
    [TestCase("zstd", "pages", 11UL)]
    [TestCase("zstd", "binary", 12UL)]
    public void MutatedCompressedFilesOnlyRaiseInputException(string compression, string format, ulong seed)
    {
        byte[] plain = ValidSample(format);
        byte[] packed;
        using (var ms = new MemoryStream())
        {
            using (Stream z = compression == "gzip"
                       ? new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)
                       : new ZstdSharp.CompressionStream(ms, 3, leaveOpen: true))
                z.Write(plain);
            packed = ms.ToArray();
        }
        string path = Path.Combine(Path.GetTempPath(), $"ecsmem-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.{compression}");
        int accepted = 0, rejected = 0;
        try
        {
            var run = Task.Run(() =>
            {
                var rng = new ReliabilityRng(seed);
                for (int i = 0; i < 400; i++)
                {
                    byte[] input = i == 0 ? packed : InputMutator.Mutate(packed, ref rng);
                    File.WriteAllBytes(path, input);
                    var buffer = new MemoryAccess[64];
                    try
                    {
                        using ITraceReader r = TraceFormats.OpenReader(format, path);
                        long n = 0;
                        int got;
                        while ((got = r.Read(buffer)) > 0)
                        {
                            n += got;
                            if (n > 1_000_000)
                                throw new AssertionException($"{compression} case {i}: more than a million accesses from {input.Length} bytes");
                        }
                        accepted++;
                    }
                    catch (InputException)
                    {
                        rejected++;
                    }
                    catch (Exception e) when (e is not AssertionException)
                    {
                        throw new AssertionException($"{compression} {format} case {i}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}\ninput (base64): {Convert.ToBase64String(input)}", e);
                    }
                }
            });
            Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "a case hung");
            run.GetAwaiter().GetResult();
        }
        finally
        {
            File.Delete(path);
        }
        TestContext.Out.WriteLine($"{compression} {format}: {accepted} accepted, {rejected} rejected");
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
