using System.Globalization;
using System.Text;
using EcsMem.Diagnostics;
using EcsMem.Traces;

namespace EcsMem.Tests.Traces;

/// <summary>
/// The Lackey reader's vector decoder against an independent string-based parser and against the reader's own plain
/// parser, on the same random inputs: every record shape the decoder takes (1-16 hex digits in either case, sizes of
/// 1-2 digits, CRLF), the shapes it leaves to the plain parser (sizes of 3-5 digits, leading zeros beyond two
/// digits, ...), and single-byte corruptions.
/// </summary>
public class LackeyVectorDecodeTests
{
    private static readonly string[] Prefixes = ["I  ", " L ", " S ", " M "];

    /// <summary>Random Lackey text; <paramref name="expected"/> gets each record as a reference parser built on
    /// <see cref="Convert.ToUInt64(string, int)"/> and <see cref="int.Parse(string)"/> reads it.</summary>
    private static string RandomTrace(int lines, ulong seed, List<MemoryAccess> expected)
    {
        var rng = new Random((int)seed);
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            int shape = rng.Next(100);
            if (shape == 0)
            {
                sb.Append("==4242== some Valgrind message\n");
                continue;
            }
            if (shape == 1)
            {
                sb.Append(rng.Next(2) == 0 ? "\n" : "  \t\n");
                continue;
            }
            int kind = rng.Next(4);
            int digits = 1 + rng.Next(16);
            var hex = new StringBuilder();
            for (int d = 0; d < digits; d++)
            {
                char c = "0123456789abcdef"[rng.Next(16)];
                hex.Append(rng.Next(4) == 0 ? char.ToUpperInvariant(c) : c);
            }
            int size = rng.Next(3) switch { 0 => 1 + rng.Next(9), 1 => 1 + rng.Next(99), _ => 1 + rng.Next(65535) };
            string sizeText = new string('0', rng.Next(10) == 0 ? rng.Next(4) : 0) + size.ToString(CultureInfo.InvariantCulture);
            string text = Prefixes[kind] + hex + "," + sizeText + (rng.Next(20) == 0 ? "\r\n" : "\n");
            sb.Append(text);

            string line = text.TrimEnd('\n').TrimEnd('\r');
            string[] fields = line[3..].Split(',');
            expected.Add(new MemoryAccess(Convert.ToUInt64(fields[0], 16), 0, (ushort)int.Parse(fields[1], CultureInfo.InvariantCulture),
                (AccessKind)Array.IndexOf(Prefixes, line[..3])));
        }
        return sb.ToString();
    }

    private static readonly VectorDecodeHarness.Open OpenReader =
        (bytes, vectorized) => new LackeyReader(new MemoryStream(bytes), "r.lackey") { Vectorized = vectorized };

    private static List<MemoryAccess> ReadAll(byte[] bytes, bool vectorized, int batch, out InputException? error) =>
        VectorDecodeHarness.ReadAll(OpenReader, bytes, vectorized, batch, out error);

    [TestCase(1UL, 4096)]
    [TestCase(2UL, 7)]
    [TestCase(3UL, 1)]
    public void RandomRecordsDecodeAsAStringParserReadsThem(ulong seed, int batch)
    {
        var expected = new List<MemoryAccess>();
        byte[] bytes = Encoding.ASCII.GetBytes(RandomTrace(60_000, seed, expected));   // ~1.3 MB: many buffer refills
        foreach (bool vectorized in new[] { true, false })
        {
            var got = ReadAll(bytes, vectorized, batch, out var error);
            Assert.That(error, Is.Null, error?.Message);
            Assert.That(got, Is.EqualTo(expected), vectorized ? "vector decoder" : "plain parser");
        }
    }

    /// <summary>The vector decoder writes each record's second half (process, size, kind, thread) as one word: the
    /// reader's process id, the size and the kind land in their fields and the thread stays 0, as the plain parser
    /// (and a string parser) give them.</summary>
    [Test]
    public void RecordsCarryTheReadersProcessId()
    {
        var expected = new List<MemoryAccess>();
        byte[] bytes = Encoding.ASCII.GetBytes(RandomTrace(5_000, 9, expected));
        foreach (bool vectorized in new[] { true, false })
        {
            using var reader = new LackeyReader(new MemoryStream(bytes), "r.lackey", process: 0x12345678) { Vectorized = vectorized };
            var got = new List<MemoryAccess>();
            var buf = new MemoryAccess[4096];
            int n;
            while ((n = reader.Read(buf)) > 0)
                got.AddRange(buf.AsSpan(0, n).ToArray());
            Assert.That(got, Is.EqualTo(expected.Select(a => a with { Process = 0x12345678 })), vectorized ? "vector decoder" : "plain parser");
        }
    }

    /// <summary>One byte of a valid trace changed, inserted or removed: both decoders return the same records and
    /// then the same error (line, text, problem), or the same records and no error.</summary>
    [Test]
    public void CorruptedTracesEndTheSameWithBothDecoders()
    {
        byte[] valid = Encoding.ASCII.GetBytes(RandomTrace(3000, 9, []));
        int errors = VectorDecodeHarness.CorruptedTracesEndTheSame(OpenReader, valid, 19, "0123456789abcdefABCDEFgxyz, \t\r\n=-*ILSM\0\u007f");
        // Most single-byte changes make a malformed line; some (a digit for a digit) leave a valid trace.
        Assert.That(errors, Is.InRange(300, 1499));
    }

    [Test]
    public void EverySizeAndDigitCountDecodesExactly()
    {
        // Each size 1..65535 once, with an address of each digit count in turn: the SWAR size decode and the nibble
        // shuffle against the plain parser's digit loops.
        var sb = new StringBuilder();
        var expected = new List<MemoryAccess>();
        for (int size = 1; size <= 65535; size++)
        {
            int digits = 1 + size % 16;
            ulong address = (ulong)size * 0x9E3779B97F4A7C15UL >> (64 - 4 * digits);
            sb.Append(Prefixes[size & 3]).Append(address.ToString("x" + digits, CultureInfo.InvariantCulture)).Append(',').Append(size).Append('\n');
            expected.Add(new MemoryAccess(address, 0, (ushort)size, (AccessKind)(size & 3)));
        }
        byte[] bytes = Encoding.ASCII.GetBytes(sb.ToString());
        Assert.That(ReadAll(bytes, vectorized: true, 4096, out var e1), Is.EqualTo(expected));
        Assert.That(ReadAll(bytes, vectorized: false, 4096, out var e2), Is.EqualTo(expected));
        Assert.That(e1, Is.Null);
        Assert.That(e2, Is.Null);
    }
}
