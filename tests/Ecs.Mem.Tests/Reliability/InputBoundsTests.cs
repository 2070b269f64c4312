using System.Text;
using EcsMem.Cli;
using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Tests.Traces;
using EcsMem.Traces;

namespace EcsMem.Tests.Reliability;

/// <summary>Issue 14, item 2: input bounds (line length, YAML depth/size/aliases, model size limits, max_map_count).</summary>
public class InputBoundsTests
{
    /// <summary>An endless stream of one byte, counting what was read: a giant line without the giant file.</summary>
    private sealed class EndlessStream(byte fill) : Stream
    {
        public long Served { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill(fill);
            Served += count;
            return count;
        }
    }

    [TestCase("pages", (byte)'1')]
    [TestCase("pages", (byte)'#')]
    [TestCase("lackey", (byte)'I')]
    [TestCase("pinatrace", (byte)'0')]
    public void AnEndlessLineIsAnErrorAfterAtMostOneMiB(string format, byte fill)
    {
        var stream = new EndlessStream(fill);
        using ITraceReader reader = TraceFormats.Get(format).Reader!(stream, "giant");
        var ex = Assert.Throws<InputException>(() => reader.Read(new MemoryAccess[64]))!;
        Assert.That(ex.Origin, Is.EqualTo("giant"));
        Assert.That(ex.Line, Is.EqualTo(1));
        Assert.That(ex.Problem, Does.Contain("long"));
        Assert.That(stream.Served, Is.LessThanOrEqualTo((1 << 20) + (1 << 16)));
    }

    [Test]
    public void AOneGiBPagesLineFailsTheCliCleanly()
    {
        using var dir = new TempDir();
        string path = dir.File("giant.pages");
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.Write("7\n"u8);
            f.SetLength(1L << 30); // sparse: no disk used; a line of 1 GiB of NUL bytes
        }
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(["run", "--ideal", "--trace", path, "--trace-format", "pages", "--frames", "4", "--policy", "lru"], o, e);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(e.ToString(), Does.Contain($"{path}:2: line longer than 1048576 bytes"));
        Assert.That(e.ToString().TrimEnd('\n'), Does.Not.Contain("\n").And.Not.Contain("\0"));
    }

    [Test]
    public void DeeplyNestedYamlIsRefusedBeforeTheParserRecurses()
    {
        string flow = "processes: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var ex = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(flow), "deep.yaml"))!;
        Assert.That(ex.Line, Is.EqualTo(1));
        Assert.That(ex.Problem, Does.Contain("nested deeper than 64"));

        var block = new StringBuilder("processes:\n");
        for (int i = 0; i < 2000; i++) block.Append(' ', i + 1).Append("- \n".AsSpan(0, i % 2 == 0 ? 3 : 2)).Append(i % 2 == 0 ? "" : "\n");
        Assert.That(() => ScenarioParser.Parse(new StringReader(block.ToString()), "block.yaml"),
            Throws.TypeOf<InputException>().With.Property(nameof(InputException.Problem)).Contains("nested deeper than 64"));

        string dashes = "processes:\n  " + string.Concat(Enumerable.Repeat("- ", 5000)) + "x\n";
        Assert.That(() => ScenarioParser.Parse(new StringReader(dashes), "dashes.yaml"),
            Throws.TypeOf<InputException>().With.Property(nameof(InputException.Problem)).Contains("nested deeper than 64"));
    }

    [Test]
    public void BracketsInQuotesAndCommentsDoNotCountAsNesting()
    {
        string text = "description: \"" + new string('[', 500) + "\" # " + new string('{', 500) + "\n" +
                      "processes:\n  - name: a\n    workload: { generator: 'loop:count=10' }\n";
        Assert.That(ScenarioParser.Parse(new StringReader(text), "ok.yaml").Processes, Has.Count.EqualTo(1));
    }

    [Test]
    public void AliasExpansionIsBounded()
    {
        var sb = new StringBuilder("description: x\nlaughs:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++)
            sb.Append($"  a{i}: &a{i} [").Append(string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))).Append("]\n");
        var ex = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(sb.ToString()), "laughs.yaml"))!;
        Assert.That(ex.Problem, Does.Contain("expands"));
    }

    /// <summary>An endless scenario text (as from /dev/zero) stops at the size cap.</summary>
    private sealed class EndlessText : TextReader
    {
        public long Served { get; private set; }

        public override int Read(char[] buffer, int index, int count)
        {
            buffer.AsSpan(index, count).Fill('#');
            Served += count;
            return count;
        }
    }

    [Test]
    public void ScenarioDocumentSizeIsCapped()
    {
        var reader = new EndlessText();
        var ex = Assert.Throws<InputException>(() => ScenarioParser.Parse(reader, "endless.yaml"))!;
        Assert.That(ex.Problem, Does.Contain("larger than 16 MiB"));
        Assert.That(reader.Served, Is.LessThanOrEqualTo((16 << 20) + (1 << 16)));
    }

    [TestCase("2T")]
    [TestCase("4T")]
    [TestCase("64T")]
    public void SwapBeyondTheModelIsRefusedWithTheTrueReason(string size)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(["run", "--swap", size], o, e);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(o.ToString(), Is.Empty);
        Assert.That(e.ToString(), Does.Contain("larger than 64 GiB").And.Contain("host memory"));

        string yaml = $"machine:\n  ram: 1M\n  swap: {size}\nprocesses:\n  - name: a\n    workload: {{ generator: 'loop:count=10' }}\n";
        var ex = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(yaml), "s.yaml"))!;
        Assert.That(ex.Line, Is.EqualTo(3));
        Assert.That(ex.Problem, Does.Contain("larger than 64 GiB"));
    }

    [Test]
    public void SwapAtTheLimitIsAccepted()
    {
        string yaml = "machine:\n  swap: 64G\nprocesses:\n  - name: a\n    workload: { generator: 'loop:count=10' }\n";
        Assert.That(ScenarioParser.Parse(new StringReader(yaml), "s.yaml").Machine.SwapBytes, Is.EqualTo(KernelOptions.MaxSwapBytes));
        Assert.That(() => new Systems.Machine.Machine(new KernelOptions { SwapBytes = KernelOptions.MaxSwapBytes + 4096 }, "k"),
            Throws.TypeOf<InputException>().With.Message.Contains("at most 64 GiB"));
    }

    private static string MapsLines(int n)
    {
        var sb = new StringBuilder(n * 60);
        for (int i = 0; i < n; i++)
        {
            ulong start = 0x10000UL + (ulong)i * 0x2000;
            sb.Append($"{start:x8}-{start + 0x1000:x8} r--p 00000000 00:00 0 \n");
        }
        return sb.ToString();
    }

    [Test]
    public void MapsWithMoreAreasThanMaxMapCountIsRefused()
    {
        Assert.That(ProcMaps.Parse("ok.maps", MapsLines(Mm.DefaultMaxMapCount), new FileTable()).Vmas.Count, Is.EqualTo(Mm.DefaultMaxMapCount));
        var ex = Assert.Throws<InputException>(() => ProcMaps.Parse("big.maps", MapsLines(Mm.DefaultMaxMapCount + 1), new FileTable()))!;
        Assert.That(ex.Line, Is.EqualTo(Mm.DefaultMaxMapCount + 1));
        Assert.That(ex.Problem, Does.Contain("max_map_count"));
    }

    [TestCase("processes:\n  - name: a\n    start: 18446744073709551615\n    workload: { generator: 'loop:count=10' }\n")]
    [TestCase("processes:\n  - name: a\n    start: 18446744073709551616\n    workload: { generator: 'loop:count=10' }\n")]
    [TestCase("processes:\n  - name: a\n    workload: { generator: 'loop:count=10' }\n    children: { count: 2, after: 18446744073709551615 }\n")]
    [TestCase("processes:\n  - name: a\n    workload: { generator: 'loop:count=10' }\ntimeline:\n  - { at: 18446744073709551615, process: a, munmap: { addr: 0xfffffffffffff000, length: 4096 } }\n")]
    [TestCase("processes:\n  - name: a\n    workload: { generator: 'loop:count=10' }\ntimeline:\n  - { at: 1, process: a, mmap: { addr: 0xfffffffffffff000, length: 8192, fixed: true } }\n")]
    [TestCase("machine: { ram: 9223372036854775807 }\nprocesses:\n  - name: a\n    workload: { generator: 'loop:count=10' }\n")]
    public void HugeNumbersEndInAnInputErrorOrARunNeverAnotherException(string yaml)
    {
        try
        {
            Scenario s = ScenarioParser.Parse(new StringReader(yaml), "n.yaml");
            using var m = Systems.Machine.ScenarioLoader.Build(s);
            m.Run();
        }
        catch (InputException e)
        {
            Assert.That(e.Message, Does.StartWith("n.yaml"));
        }
    }
}
