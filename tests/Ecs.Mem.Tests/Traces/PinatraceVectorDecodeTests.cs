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

    private static List<MemoryAccess> ReadAll(byte[] bytes, bool vectorized, int batch, out InputException? error)
    {
        var got = new List<MemoryAccess>();
        error = null;
        using var reader = new PinatraceReader(new MemoryStream(bytes), "p.out") { Vectorized = vectorized };
        var buf = new MemoryAccess[batch];
        try
        {
            int n;
            while ((n = reader.Read(buf)) > 0)
                got.AddRange(buf.AsSpan(0, n).ToArray());
        }
        catch (InputException e)
        {
            error = e;
        }
        return got;
    }

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
        var rng = new Random(29);
        byte[] alphabet = Encoding.ASCII.GetBytes("0123456789abcdefABCDEFgxX:#RW (nil) \t\r\n\0\u007f");
        int errors = 0;
        for (int trial = 0; trial < 1500; trial++)
        {
            var bytes = new List<byte>(valid);
            int at = rng.Next(bytes.Count);
            byte b = rng.Next(8) == 0 ? (byte)rng.Next(256) : alphabet[rng.Next(alphabet.Length)];
            switch (rng.Next(3))
            {
                case 0: bytes[at] = b; break;
                case 1: bytes.Insert(at, b); break;
                default: bytes.RemoveAt(at); break;
            }
            byte[] input = [.. bytes];
            int batch = rng.Next(2) == 0 ? 4096 : 1 + rng.Next(50);
            var plain = ReadAll(input, vectorized: false, batch, out var plainError);
            var vector = ReadAll(input, vectorized: true, batch, out var vectorError);
            Assert.That(vector, Is.EqualTo(plain), $"trial {trial}: records");
            Assert.That(vectorError?.Message, Is.EqualTo(plainError?.Message), $"trial {trial}: error");
            if (plainError is not null)
                errors++;
        }
        Assert.That(errors, Is.InRange(200, 1499));
    }
}
