using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using EcsMem.Cli;
using EcsMem.Diagnostics;
using EcsMem.Tests.Traces;
using EcsMem.Traces;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Issue 14, item 3: compressed input must be a complete stream, a binary record must have a size, and every error
/// message is one escaped line naming file:line and the value.
/// </summary>
public class StrictReaderTests
{
    private static readonly string Pages = string.Concat(Enumerable.Range(0, 3000).Select(i => $"{i % 97}\n"));

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] Zstd(byte[] data) => new ZstdSharp.Compressor().Wrap(data).ToArray();

    private static List<MemoryAccess> ReadBytes(TempDir dir, string format, byte[] bytes)
    {
        string path = TraceTestFiles.Write(dir.File("t"), bytes, Packing.Plain);
        return TraceTestFiles.ReadFile(format, path);
    }

    [Test]
    public void CompleteStreamsStillRead()
    {
        using var dir = new TempDir();
        byte[] plain = Encoding.ASCII.GetBytes(Pages);
        Assert.That(ReadBytes(dir, "pages", Gzip(plain)), Has.Count.EqualTo(3000));
        Assert.That(ReadBytes(dir, "pages", Zstd(plain)), Has.Count.EqualTo(3000));
        Assert.That(ReadBytes(dir, "pages", Gzip([])), Is.Empty, "a complete gzip stream of nothing is an empty trace");
    }

    public enum Damage { HeaderOnly2, HeaderOnly10, Half, MissingTrailer, TrailingGarbage, TrailingByte }

    private static byte[] Apply(byte[] z, Damage d) => d switch
    {
        Damage.HeaderOnly2 => z[..2],
        Damage.HeaderOnly10 => z[..10],
        Damage.Half => z[..(z.Length / 2)],
        Damage.MissingTrailer => z[..^4],
        Damage.TrailingGarbage => [.. z, .. "garbage after the stream\n"u8.ToArray()],
        _ => [.. z, 0x41],
    };

    [Test]
    public void DamagedGzipIsAnErrorNotAShortTrace([Values] Damage damage, [Values("pages", "lackey", "pinatrace", "binary")] string format)
    {
        using var dir = new TempDir();
        byte[] plain = format switch
        {
            "pages" => Encoding.ASCII.GetBytes(Pages),
            "lackey" => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 3000).Select(i => $" L {i * 64:x8},8\n"))),
            "pinatrace" => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 3000).Select(i => $"0x401000: R 0x{i * 64:x}\n"))),
            _ => BinaryTrace(3000),
        };
        byte[] bad = Apply(Gzip(plain), damage);
        var ex = Assert.Throws<InputException>(() => ReadBytes(dir, format, bad))!;
        Assert.That(ex.Origin, Is.EqualTo(dir.File("t")));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
    }

    [TestCase(Damage.HeaderOnly2)]
    [TestCase(Damage.HeaderOnly10)]
    [TestCase(Damage.Half)]
    [TestCase(Damage.MissingTrailer)]
    [TestCase(Damage.TrailingGarbage)]
    [TestCase(Damage.TrailingByte)]
    public void DamagedZstdIsAnError(Damage damage)
    {
        using var dir = new TempDir();
        byte[] z = Zstd(Encoding.ASCII.GetBytes(Pages));
        byte[] bad = damage == Damage.HeaderOnly2 ? z[..4] : Apply(z, damage);
        Assert.That(() => ReadBytes(dir, "pages", bad), Throws.TypeOf<InputException>()
            .With.Property(nameof(InputException.Origin)).EqualTo(dir.File("t")));
    }

    [Test]
    public void TwoByteGzipHeaderFailsTheCliWithExitTwo()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t.gz"), [0x1F, 0x8B], Packing.Plain);
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(["run", "--ideal", "--trace", path, "--frames", "4", "--policy", "lru"], o, e);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(o.ToString(), Is.Empty);
        Assert.That(e.ToString(), Does.Contain(path).And.Contain("truncated gzip"));
    }

    [Test]
    public void CorruptXzIsBadInputNamingTheFile()
    {
        // xz is decoded now (ChampSim's traces come as .xz); a damaged xz header is one line of bad input, not a crash.
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t.xz"), [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0, 4, 1, 2], Packing.Plain);
        Assert.That(() => TraceTestFiles.ReadFile("lackey", path), Throws.TypeOf<InputException>()
            .With.Message.StartsWith(path + ":").And.Message.Contains("cannot read compressed data"));
    }

    private static byte[] BinaryTrace(int n, int zeroAt = -1, ushort version = 1)
    {
        int rs = version == 1 ? 16 : 24;
        var b = new byte[32 + n * rs];
        BinaryTraceFormat.WriteHeader(b, (ulong)n, version);
        for (int i = 0; i < n; i++)
        {
            var r = b.AsSpan(32 + i * rs, rs);
            if (version == 1)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(r[6..], (ushort)(i == zeroAt ? 0 : 8));
                BinaryPrimitives.WriteUInt64LittleEndian(r[8..], (ulong)i * 64);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(r[10..], (ushort)(i == zeroAt ? 0 : 8));
                BinaryPrimitives.WriteUInt64LittleEndian(r[16..], (ulong)i * 64);
            }
        }
        return b;
    }

    [TestCase((ushort)1)]
    [TestCase((ushort)2)]
    public void BinaryRecordOfSizeZeroIsAnErrorNamingTheRecord(ushort version)
    {
        using var dir = new TempDir();
        Assert.That(ReadBytes(dir, "binary", BinaryTrace(100, version: version)), Has.Count.EqualTo(100));
        var ex = Assert.Throws<InputException>(() => ReadBytes(dir, "binary", BinaryTrace(100, zeroAt: 41, version: version)))!;
        Assert.That(ex.Origin, Is.EqualTo(dir.File("t")));
        Assert.That(ex.Line, Is.EqualTo(42));
        Assert.That(ex.Problem, Does.Contain("size is 0"));
    }

    [Test]
    public void ControlCharactersAreEscapedInTheMessage()
    {
        var ex = new InputException("f\u001b[2J.lackey", 7, "\u001b[31m\0x\r\ny\t\u007f\u0085\u2028\ud800z", "bad\nthing");
        Assert.That(ex.Message, Is.EqualTo(@"f\x1b[2J.lackey:7: bad\nthing (got '\x1b[31m\0x\r\ny\t\x7f\x85\u2028\ud800z')"));
        Assert.That(ex.Value, Is.EqualTo("\u001b[31m\0x\r\ny\t\u007f\u0085\u2028\ud800z"), "the raw value is kept");
        Assert.That(InputException.Escape("plain ü 😀 \\x41"), Is.EqualTo("plain ü 😀 \\x41"));
    }

    [Test]
    public void CliErrorForATerminalEscapeInATraceIsOneLine()
    {
        using var dir = new TempDir();
        string path = TraceTestFiles.Write(dir.File("t.lackey"), "I  0401ab70,3\n\u001b]0;pwned\u0007\r\u001b[2K L 10,8\n", Packing.Plain);
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(["run", "--cachegrind", "--trace", path], o, e);
        Assert.That(code, Is.EqualTo(2));
        string err = e.ToString();
        Assert.That(err.TrimEnd('\n', '\r'), Does.Not.Contain("\n").And.Not.Contain("\r").And.Not.Contain("\u001b").And.Not.Contain("\u0007"));
        Assert.That(err, Does.Contain($"{path}:2: malformed Lackey line").And.Contain(@"\x1b]0;pwned\x07\r\x1b[2K"));
    }
}
