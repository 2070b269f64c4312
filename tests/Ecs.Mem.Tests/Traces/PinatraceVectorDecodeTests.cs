using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// The pinatrace reader's vector decoder against an independent string-based parser and against the reader's plain
/// parser, on the same random inputs: the tool's shapes (%p addresses of 1-16 digits, an optional size, CRLF), shapes
/// left to the plain parser ((nil), uppercase 0X, tabs, extra blanks, comments) and single-byte corruptions.
/// </summary>
public class PinatraceVectorDecodeTests
{
    private static string Hex(Random rng, int digits)
    {
        var sb = new StringBuilder();
        for (int d = 0; d < digits; d++)
        {
            char c = "0123456789abcdef"[rng.Next(16)];
            sb.Append(rng.Next(5) == 0 ? char.ToUpperInvariant(c) : c);
        }
        return sb.ToString();
    }

    private static string RandomTrace(int lines, int seed, List<MemoryAccess> expected)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            int shape = rng.Next(100);
            if (shape == 0)
            {
                sb.Append("# a comment\n");
                continue;
            }
            if (shape == 1)
            {
                sb.Append("\n");
                continue;
            }
            bool write = rng.Next(3) == 0;
            string ip = shape == 2 ? "(nil)" : "0x" + Hex(rng, 1 + rng.Next(16));
            string addrHex = Hex(rng, 1 + rng.Next(16));
            string addr = shape == 3 ? "(nil)" : (shape == 4 ? "0X" : "0x") + addrHex;
            int size = rng.Next(4) switch { 0 => 0, 1 => 1 + rng.Next(16), 2 => 1 + rng.Next(999), _ => 1 + rng.Next(65535) };
            string blank = shape == 5 ? "\t" : shape == 6 ? "  " : " ";
            string line = ip + ":" + blank + (write ? "W" : "R") + blank + addr + (size > 0 ? blank + size.ToString(CultureInfo.InvariantCulture) : "");
            sb.Append(line).Append(rng.Next(20) == 0 ? "\r\n" : "\n");
            expected.Add(new MemoryAccess(addr == "(nil)" ? 0 : Convert.ToUInt64(addrHex, 16), 0, (ushort)(size > 0 ? size : 1),
                write ? AccessKind.Store : AccessKind.Load));
        }
        sb.Append("#eof\n");
        return sb.ToString();
    }

    private static readonly VectorDecodeHarness.Open OpenReader =
        (bytes, vectorized) => new PinatraceReader(new MemoryStream(bytes), "p.out") { Vectorized = vectorized };

    private static List<MemoryAccess> ReadAll(byte[] bytes, bool vectorized, int batch, out InputException? error) =>
        VectorDecodeHarness.ReadAll(OpenReader, bytes, vectorized, batch, out error);

    [TestCase(1, 4096)]
    [TestCase(2, 7)]
    [TestCase(3, 1)]
    public void RandomRecordsDecodeAsAStringParserReadsThem(int seed, int batch)
    {
        var expected = new List<MemoryAccess>();
        byte[] bytes = Encoding.ASCII.GetBytes(RandomTrace(50_000, seed, expected));
        foreach (bool vectorized in new[] { true, false })
        {
            var got = ReadAll(bytes, vectorized, batch, out var error);
            Assert.That(error, Is.Null, error?.Message);
            Assert.That(got, Is.EqualTo(expected), vectorized ? "vector decoder" : "plain parser");
        }
    }

    [Test]
    public void CorruptedTracesEndTheSameWithBothDecoders()
    {
        byte[] valid = Encoding.ASCII.GetBytes(RandomTrace(2000, 9, []));
        int errors = VectorDecodeHarness.CorruptedTracesEndTheSame(OpenReader, valid, 29, "0123456789abcdefABCDEFgxX:#RW (nil) \t\r\n\0\u007f");
        Assert.That(errors, Is.InRange(200, 1499));
    }
}
