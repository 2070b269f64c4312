using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

/// <summary>Every test runs twice: with the vector decoder (where the hardware has one) and with the plain parser alone.</summary>
[TestFixture(true)]
[TestFixture(false)]
public class LackeyReaderTests(bool vectorized)
{
    private List<MemoryAccess> ReadAll(string text, out LackeyReader reader, int batch = 3)
    {
        reader = new LackeyReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), "t.lackey") { Vectorized = vectorized };
        var all = new List<MemoryAccess>();
        var buf = new MemoryAccess[batch];
        int n;
        while ((n = reader.Read(buf)) > 0)
            all.AddRange(buf.AsSpan(0, n).ToArray());
        return all;
    }

    [Test]
    public void ParsesTheFourRecordKindsAndSkipsValgrindLines()
    {
        string text =
            "==123== Lackey, an example Valgrind tool\n" +   // skipped: Valgrind message
            "==123== \n" +                                   // skipped
            "I  0401ab70,3\n" +
            " L 1ffefff8a0,8\n" +
            "**123** error summary\n" +                      // skipped: Valgrind error message
            " S 04a3c010,4\r\n" +                            // CRLF tolerated
            "\n" +                                           // skipped: empty
            "--123-- warning: something\n" +                 // skipped: Valgrind debug message
            " M ffffffffffffffff,16\n" +
            "I  0,1";                                        // last line without newline
        var got = ReadAll(text, out var r);
        Assert.That(got, Is.EqualTo(new[]
        {
            new MemoryAccess(0x0401ab70, 0, 3, AccessKind.Instr),
            new MemoryAccess(0x1ffefff8a0, 0, 8, AccessKind.Load),
            new MemoryAccess(0x04a3c010, 0, 4, AccessKind.Store),
            new MemoryAccess(0xffffffffffffffff, 0, 16, AccessKind.Modify),
            new MemoryAccess(0, 0, 1, AccessKind.Instr),
        }));
        Assert.That(r.LinesRead, Is.EqualTo(10));
        Assert.That(r.SkippedLines, Is.EqualTo(5));
    }

    [TestCase(" L 1234", "missing ',SIZE' after the address")]
    [TestCase(" L ,8", "missing address")]
    [TestCase(" L 12g4,8", "address is not hexadecimal")]
    [TestCase(" S 12345678901234567,8", "address has more than 16 hex digits")]
    [TestCase(" M 1234,", "missing size after ','")]
    [TestCase("I  1234,x", "size is not a decimal number")]
    [TestCase("I  1234,0", "size is zero")]
    [TestCase("I  1234,65536", "size larger than 65535 bytes")]
    [TestCase(" L 1234,8 extra", "size is not a decimal number")]
    [TestCase("I  ", "missing address")]
    public void MalformedRecordNamesFileLineAndText(string bad, string problem)
    {
        string text = "I  0401ab70,3\n==1== note\n" + bad + "\nI  0401ab73,5\n";
        var ex = Assert.Throws<InputException>(() => ReadAll(text, out _))!;
        Assert.That(ex.Origin, Is.EqualTo("t.lackey"));
        Assert.That(ex.Line, Is.EqualTo(3));
        Assert.That(ex.Value, Is.EqualTo(bad));
        Assert.That(ex.Problem, Is.EqualTo("malformed Lackey line: " + problem));
    }

    [Test]
    public void LinesCrossingBufferBoundariesParseLikeAStringSplitReference()
    {
        // ~300 KB of records with varying lengths so lines straddle the 64 KiB buffer refills.
        var sb = new StringBuilder();
        var expected = new List<MemoryAccess>();
        ulong x = 7;
        for (int i = 0; i < 20000; i++)
        {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            ulong addr = x >> (int)(x % 40);
            ushort size = (ushort)(1 + (x >> 50) % 64);
            var kind = (AccessKind)((x >> 20) % 4);
            string prefix = kind switch { AccessKind.Instr => "I  ", AccessKind.Load => " L ", AccessKind.Store => " S ", _ => " M " };
            sb.Append(prefix).Append(addr.ToString("x8")).Append(',').Append(size).Append('\n');
            if (i % 1000 == 0)
                sb.Append("==42== progress\n");
            expected.Add(new MemoryAccess(addr, 0, size, kind));
        }
        var got = ReadAll(sb.ToString(), out var r, batch: 777);
        Assert.That(got, Is.EqualTo(expected));
        Assert.That(r.SkippedLines, Is.EqualTo(20));
    }

    // Issue 14 (strict readers): an over-long line that is not a record used to be skipped as program output.
    [Test]
    public void OverlongNonRecordLineIsAnErrorFoundWithoutReadingItAll()
    {
        string text = "I  10,2\n" + new string('x', 200_000) + " L 20,4\n L 30,4\n";
        var ex = Assert.Throws<InputException>(() => ReadAll(text, out _))!;
        Assert.That(ex.Line, Is.EqualTo(2));
        Assert.That(ex.Problem, Does.Contain("line longer than 65536 bytes"));
    }

    // Issue 14: only Valgrind's own lines are skipped; anything else is an error naming file:line.
    [TestCase("hello from the program")]
    [TestCase(" Q 0401,8")]
    [TestCase("I 0401ab70,3")]
    [TestCase("==12 not a pid line")]
    [TestCase("=123= almost")]
    [TestCase("\u001b[31mred\u0000")]
    public void UnrecognisedLineIsAnError(string bad)
    {
        string text = "==1== Lackey, an example Valgrind tool\nI  0401ab70,3\n" + bad + "\nI  0401ab73,5\n";
        var ex = Assert.Throws<InputException>(() => ReadAll(text, out _))!;
        Assert.That(ex.Origin, Is.EqualTo("t.lackey"));
        Assert.That(ex.Line, Is.EqualTo(3));
        Assert.That(ex.Value, Is.EqualTo(bad));
        Assert.That(ex.Problem, Does.StartWith("malformed Lackey line: not a Lackey record"));
        Assert.That(ex.Message, Does.Not.Contain("\n").And.Not.Contain("\u001b").And.Not.Contain("\0"));
    }

    [Test]
    public void RandomBytesAreAnErrorNotAnEmptyTrace()
    {
        var bytes = new byte[4096];
        new Random(14).NextBytes(bytes);
        var reader = new LackeyReader(new MemoryStream(bytes), "junk.bin") { Vectorized = vectorized };
        var ex = Assert.Throws<InputException>(() => reader.Read(new MemoryAccess[16]))!;
        Assert.That(ex.Origin, Is.EqualTo("junk.bin"));
        Assert.That(ex.Line, Is.GreaterThan(0));
    }

    [Test]
    public void OverlongRecordLineIsAnError()
    {
        string text = "I  10,2\n L 1" + new string('0', 100_000) + ",4\n";
        var ex = Assert.Throws<InputException>(() => ReadAll(text, out _))!;
        Assert.That(ex.Line, Is.EqualTo(2));
        Assert.That(ex.Problem, Does.Contain("too long"));
    }
}
