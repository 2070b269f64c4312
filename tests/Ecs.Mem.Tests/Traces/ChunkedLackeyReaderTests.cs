using System.Globalization;
using System.IO.Compression;
using System.Text;
using EcsMem.Cli;
using EcsMem.Diagnostics;
using EcsMem.Tests.Caches;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// <see cref="ChunkedLackeyReader"/> against <see cref="LackeyReader"/> on the same file: the same accesses in the
/// same order, the same line count, the same error (file, line, text, problem), with the helper thread and without
/// (the caller then decodes every chunk: a different order of decoding, the same result), whatever falls on the
/// chunk boundaries.
/// </summary>
public class ChunkedLackeyReaderTests
{
    private static (List<MemoryAccess> Accesses, long Lines, InputException? Error) Serial(string path)
    {
        var all = new List<MemoryAccess>();
        // One access per call, so an error drops nothing: every access before the bad line is listed.
        var buf = new MemoryAccess[1];
        using var r = new LackeyReader(File.OpenRead(path), path);
        try
        {
            int n;
            while ((n = r.Read(buf)) > 0)
                all.AddRange(buf.AsSpan(0, n).ToArray());
        }
        catch (InputException e)
        {
            return (all, r.LinesRead, e);
        }
        return (all, r.LinesRead, null);
    }

    private static (List<MemoryAccess> Accesses, long Lines, InputException? Error) Chunked(string path, bool helper)
    {
        var all = new List<MemoryAccess>();
        using var r = new ChunkedLackeyReader(path, helper);
        try
        {
            ReadOnlySpan<MemoryAccess> chunk;
            while (!(chunk = r.Next()).IsEmpty)
                all.AddRange(chunk.ToArray());
            Assert.That(r.Next().IsEmpty, "the end stays the end");
        }
        catch (InputException e)
        {
            return (all, r.LinesRead, e);
        }
        return (all, r.LinesRead, null);
    }

    private static void AssertSame(string path)
    {
        var serial = Serial(path);
        foreach (bool helper in new[] { true, false })
        {
            var chunked = Chunked(path, helper);
            if (serial.Error is null)
            {
                Assert.That(chunked.Error, Is.Null, $"helper {helper}: {chunked.Error?.Message}");
                Assert.That(chunked.Lines, Is.EqualTo(serial.Lines), $"helper {helper}");
                Assert.That(chunked.Accesses, Is.EqualTo(serial.Accesses), $"helper {helper}");
            }
            else
            {
                Assert.That(chunked.Error, Is.Not.Null, $"helper {helper}");
                Assert.That(chunked.Error!.Message, Is.EqualTo(serial.Error.Message), $"helper {helper}");
                Assert.That((chunked.Error.Origin, chunked.Error.Line, chunked.Error.Value, chunked.Error.Problem),
                    Is.EqualTo((serial.Error.Origin, serial.Error.Line, serial.Error.Value, serial.Error.Problem)), $"helper {helper}");
                // Whole chunks before the bad one were handed out: the first of the accesses before the bad line.
                Assert.That(chunked.Accesses, Is.EqualTo(serial.Accesses.Take(chunked.Accesses.Count)), $"helper {helper}");
            }
        }
    }

    private static string Hex(long v) => v.ToString("x8", CultureInfo.InvariantCulture);

    [TestCase("matmul")]
    [TestCase("sort")]
    [TestCase("hashlist")]
    public void SameAccessesAsOneReaderOnARealTrace(string program)
    {
        using var dir = new TempDir();
        string path = dir.File(program + ".lackey");
        using (var gz = new GZipStream(File.OpenRead(Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".lackey.gz")), CompressionMode.Decompress))
        using (var f = File.Create(path))
            gz.CopyTo(f);
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(20 * ChunkedLackeyReader.ChunkBytes));
        AssertSame(path);
    }

    /// <summary>Every line shape the reader knows, at random, so that each kind lands on chunk boundaries: CRLF,
    /// blank lines, Valgrind's lines (some thousands of bytes long), long sizes, upper-case and 16-digit addresses,
    /// and a last line with or without its newline.</summary>
    [TestCase(1, true)]
    [TestCase(2, false)]
    [TestCase(3, true)]
    public void SameAccessesAndLinesWhateverFallsOnAChunkBoundary(int seed, bool finalNewline)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        while (sb.Length < 40 * ChunkedLackeyReader.ChunkBytes)
        {
            int shape = rng.Next(100);
            string eol = rng.Next(10) == 0 ? "\r\n" : "\n";
            if (shape < 80)
                sb.Append("I  ").Append(Hex(0x400000 + rng.Next(1 << 20))).Append(',').Append(rng.Next(1, 16)).Append(eol);
            else if (shape < 90)
                sb.Append(" ").Append("LSM"[rng.Next(3)]).Append(' ').Append(Hex(0x1fff000000 + rng.Next(1 << 24)).ToUpperInvariant()).Append(",8").Append(eol);
            else if (shape < 93)
                sb.Append(" L ").Append("ffffffffff600000").Append(',').Append(rng.Next(100, 65536)).Append(eol);
            else if (shape < 96)
                sb.Append(eol);
            else if (shape < 99)
                sb.Append("==12== Lackey says hello").Append(eol);
            else
                sb.Append("--12-- ").Append('w', rng.Next(1000, 60000)).Append(eol);
        }
        sb.Append("I  0401ab70,3");
        if (finalNewline)
            sb.Append('\n');
        using var dir = new TempDir();
        string path = dir.File("shapes.lackey");
        File.WriteAllText(path, sb.ToString());
        AssertSame(path);
    }

    /// <summary>A bad line anywhere (first line, a chunk's first or last line, deep in the file): the same error at
    /// the same line number as one reader gives.</summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(4607)]
    [TestCase(4608)]
    [TestCase(4609)]
    [TestCase(100_001)]
    public void ABadLineIsTheSameErrorAtTheSameLine(int goodLines)
    {
        var sb = new StringBuilder("==7== Lackey\n");
        for (int i = 0; i < goodLines; i++)
            sb.Append("I  ").Append(Hex(0x400000 + i)).Append(",2\n");   // 14 bytes: chunk boundaries fall every 4608 lines
        sb.Append(" S 00601000,8 oops\n");
        for (int i = 0; i < 50_000; i++)
            sb.Append(" L 00601000,8\n");
        using var dir = new TempDir();
        string path = dir.File("bad.lackey");
        File.WriteAllText(path, sb.ToString());
        AssertSame(path);
        Assert.That(Serial(path).Error!.Line, Is.EqualTo(goodLines + 2));
    }

    /// <summary>A line longer than the reader's buffer (here across chunk boundaries, with no newline for 200 KB, or
    /// ending the file) is the same "too long" error as one reader gives, not a shorter line.</summary>
    [TestCase(ChunkedLackeyReader.ChunkBytes - 5, 200_000, true)]
    [TestCase(3 * ChunkedLackeyReader.ChunkBytes + 100, 70_000, false)]
    [TestCase(10, 65_536, true)]
    [TestCase(10, 65_535, true)]
    public void ALineTooLongIsTheSameError(int before, int longLine, bool more)
    {
        var sb = new StringBuilder();
        while (sb.Length < before)
            sb.Append("I  00400000,2\n");
        sb.Append("==1== ").Append('x', longLine - 6).Append('\n');
        if (more)
            for (int i = 0; i < 20_000; i++)
                sb.Append(" L 00601000,8\n");
        using var dir = new TempDir();
        string path = dir.File("long.lackey");
        File.WriteAllText(path, sb.ToString());
        AssertSame(path);
    }

    [Test]
    public void AnEmptyFileHasNoAccesses()
    {
        using var dir = new TempDir();
        string path = dir.File("empty.lackey");
        File.WriteAllText(path, "");
        AssertSame(path);
        File.WriteAllText(path, "==1== only Valgrind\n\n");
        AssertSame(path);
    }

    [Test]
    public void OnlyPlainSeekableFilesSuit()
    {
        using var dir = new TempDir();
        string plain = dir.File("t.lackey");
        File.WriteAllText(plain, "I  00400000,2\n");
        string gz = dir.File("t.lackey.gz");
        using (var g = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
            g.Write("I  00400000,2\n"u8);
        Assert.That(ChunkedLackeyReader.Suits(plain), Is.True);
        Assert.That(ChunkedLackeyReader.Suits(gz), Is.False);
        Assert.That(ChunkedLackeyReader.Suits("-"), Is.False);
        Assert.That(ChunkedLackeyReader.Suits(dir.File("missing.lackey")), Is.False);
    }

    [Test]
    public void AFifoDoesNotSuitAndIsNeverOpened()
    {
        // Opening a FIFO's read end waits for a writer, and closing it again would leave a writer with no reader (its
        // next write fails with EPIPE): Suits must answer from the file's kind alone. With no writer here, an open
        // would block for good, so the answer must come at once.
        using var dir = new TempDir();
        string fifo = dir.File("t.lackey");
        Assert.That(MkFifo(fifo, Convert.ToUInt32("600", 8)), Is.Zero, "mkfifo");
        var answer = Task.Run(() => ChunkedLackeyReader.Suits(fifo));
        bool answered = answer.Wait(10_000);
        if (!answered)
        {
            // Unblock the stuck open with a writer so the test host does not keep a blocked thread.
            using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }
        Assert.That(answered, Is.True, "Suits opened the FIFO (it waited for a writer)");
        Assert.That(answer.Result, Is.False);
    }

    [Test]
    public void AFifoIsNotSniffedForItsFormat()
    {
        // TraceFormats.Detect reads a file's first bytes; on a FIFO that would wait for a writer here (none comes) and,
        // with one, lose its bytes and break it (EPIPE). It must answer "unknown" without opening it.
        using var dir = new TempDir();
        string fifo = dir.File("t.trace");
        Assert.That(MkFifo(fifo, Convert.ToUInt32("600", 8)), Is.Zero, "mkfifo");
        var answer = Task.Run(() => TraceFormats.Detect(fifo));
        bool answered = answer.Wait(10_000);
        if (!answered)
        {
            using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }
        Assert.That(answered, Is.True, "Detect opened the FIFO (it waited for a writer)");
        Assert.That(answer.Result, Is.Null);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, uint mode);

    [Test]
    public void DisposingBeforeTheEndStopsTheHelper()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 400_000; i++)
            sb.Append("I  ").Append(Hex(0x400000 + i * 4)).Append(",4\n");
        using var dir = new TempDir();
        string path = dir.File("t.lackey");
        File.WriteAllText(path, sb.ToString());
        var r = new ChunkedLackeyReader(path);
        Assert.That(r.Next().Length, Is.GreaterThan(0));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        r.Dispose();
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        r.Dispose();   // twice is harmless
    }

    /// <summary>Steady state: the ring and both readers are made at construction; taking chunks allocates nothing on
    /// either thread (GC.GetTotalAllocatedBytes counts both).</summary>
    [Test]
    public void TakingChunksAllocatesNothing()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 1_000_000; i++)
            sb.Append(i % 3 == 0 ? " S " : "I  ").Append(Hex(0x400000 + i * 4)).Append(",4\n");
        using var dir = new TempDir();
        string path = dir.File("t.lackey");
        File.WriteAllText(path, sb.ToString());
        using var r = new ChunkedLackeyReader(path);
        long total = 0;
        for (int i = 0; i < 10; i++)
            total += r.Next().Length;
        long allocated = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 30; i++)
                total += r.Next().Length;
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        Assert.That(total, Is.GreaterThan(100 * 4096));
        Assert.That(allocated, Is.Zero);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>`run --cachegrind` on a plain Lackey file (the chunked path) prints what Valgrind's Cachegrind printed
    /// for the program, and the same as one thread, text and out file alike.</summary>
    [TestCase("matmul")]
    [TestCase("hashlist")]
    public void TheCachegrindModeOnAPlainFileMatchesValgrind(string program)
    {
        using var dir = new TempDir();
        string path = dir.File(program + ".lackey");
        using (var gz = new GZipStream(File.OpenRead(Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".lackey.gz")), CompressionMode.Decompress))
        using (var f = File.Create(path))
            gz.CopyTo(f);
        var on = Run("run", "--cachegrind", "--trace", path, "--decode-thread", "on", "--cachegrind-out-file", dir.File("on.out"));
        var off = Run("run", "--cachegrind", "--trace", path, "--decode-thread", "off", "--cachegrind-out-file", dir.File("off.out"));
        Assert.That((on.Code, on.Err), Is.EqualTo((0, "")));
        Assert.That(on.Out, Is.EqualTo(off.Out));
        Assert.That(on.Out, Is.EqualTo(CachegrindAgreementTests.CachegrindSummary(
            Path.Combine(CachegrindAgreementTests.SamplesDir(), program + ".seed.cachegrind.txt"))));
        Assert.That(File.ReadAllBytes(dir.File("on.out")), Is.EqualTo(File.ReadAllBytes(dir.File("off.out"))));
    }

    /// <summary>A malformed line deep in a plain trace: one line naming the file and the line, exit 2, both ways.</summary>
    [Test]
    public void TheCachegrindModeReportsADeepErrorOnAPlainFile()
    {
        using var dir = new TempDir();
        string path = dir.File("bad.lackey");
        var sb = new StringBuilder("==7== Lackey\n");
        for (int i = 0; i < 100_000; i++)
            sb.Append(i % 3 == 0 ? " L " : "I  ").Append(Hex(0x400000 + i * 4)).Append(",4\n");
        sb.Append(" S 00601000,8 oops\n");
        for (int i = 0; i < 20_000; i++)
            sb.Append("I  00400000,4\n");
        File.WriteAllText(path, sb.ToString());
        foreach (string mode in new[] { "on", "off" })
        {
            var (code, stdout, stderr) = Run("run", "--cachegrind", "--trace", path, "--decode-thread", mode);
            Assert.That(code, Is.EqualTo(2), mode);
            Assert.That(stdout, Is.Empty, mode);
            Assert.That(stderr, Is.EqualTo($"ecsmem: error: {path}:100002: malformed Lackey line: size is not a decimal number (got ' S 00601000,8 oops')" + Environment.NewLine), mode);
        }
    }
}
