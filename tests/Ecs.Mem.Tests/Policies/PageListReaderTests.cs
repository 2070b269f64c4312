using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Policies;

public class PageListReaderTests
{
    private static PageListReader FromText(string text) => new(new MemoryStream(Encoding.UTF8.GetBytes(text)), "t.pages");

    private static List<ulong> AllPages(PageListReader r, int batch = 3)
    {
        var all = new List<ulong>();
        var buf = new ulong[batch];
        int n;
        while ((n = r.ReadPages(buf)) > 0) all.AddRange(buf.AsSpan(0, n).ToArray());
        return all;
    }

    [Test]
    public void SkipsBlankLinesCommentsAndCarriageReturns()
    {
        using var r = FromText("# header\r\n\r\n  7  \r\n8\t# trailing comment\n\n   # indented comment\n4503599627370495\n9");
        Assert.That(AllPages(r), Is.EqualTo(new ulong[] { 7, 8, 4503599627370495, 9 }));
    }

    [Test]
    public void ReadYieldsLoadsAtPageAddresses()
    {
        using var r = FromText("1\n3\n");
        var buf = new MemoryAccess[4];
        int n = r.Read(buf);
        Assert.That(n, Is.EqualTo(2));
        Assert.That(buf[0], Is.EqualTo(new MemoryAccess(4096, 0, 1, AccessKind.Load)));
        Assert.That(buf[1], Is.EqualTo(new MemoryAccess(3 * 4096, 0, 1, AccessKind.Load)));
        Assert.That(r.Read(buf), Is.EqualTo(0));
    }

    [TestCase("1\n2\nx12\n", 3, "x12")]
    [TestCase("1\n12 13\n", 2, "12 13")]
    [TestCase("-5\n", 1, "-5")]
    [TestCase("# c\n\n4503599627370496\n", 3, "4503599627370496")]
    [TestCase("99999999999999999999999\n", 1, "99999999999999999999999")]
    [TestCase("0x10\n", 1, "0x10")]
    public void MalformedLineNamesFileLineAndText(string text, int line, string value)
    {
        using var r = FromText(text);
        var e = Assert.Throws<InputException>(() => AllPages(r))!;
        Assert.That(e.Origin, Is.EqualTo("t.pages"));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Value, Is.EqualTo(value));
    }

    [Test]
    public void StreamsAcrossBufferBoundariesAndLongLines()
    {
        // ~1.3 MB: many buffer refills, plus one comment line longer than the 64 KiB buffer.
        var sb = new StringBuilder();
        var expected = new List<ulong>();
        for (ulong i = 0; i < 100_000; i++)
        {
            ulong p = i * 2654435761UL % 1_000_003;
            sb.Append(p).Append('\n');
            expected.Add(p);
            if (i == 50_000) sb.Append('#').Append('x', 200_000).Append('\n');
        }
        using var r = FromText(sb.ToString());
        Assert.That(AllPages(r, 4096), Is.EqualTo(expected));
        Assert.That(r.LineNumber, Is.EqualTo(100_001));
    }

    [Test]
    public void TextReaderInputGivesTheSamePages()
    {
        using var r = new PageListReader(new StringReader("5\n# x\n6\n"), "inline");
        Assert.That(AllPages(r), Is.EqualTo(new ulong[] { 5, 6 }));
    }

    [Test]
    public void LeadingByteOrderMarkIsIgnored()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, (byte)'4', (byte)'\n', (byte)'2', (byte)'\n'];
        using var r = new PageListReader(new MemoryStream(bytes), "bom.pages");
        Assert.That(AllPages(r), Is.EqualTo(new ulong[] { 4, 2 }));
    }
}
