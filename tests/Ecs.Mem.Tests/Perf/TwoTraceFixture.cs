using System.Globalization;
using EcsMem.Cli;

namespace EcsMem.Tests.Perf;

/// <summary>
/// Two random page traces (StackDistanceTests.RandomTrace) written to a fresh folder before each test and removed
/// after it, and the CLI run in-process: what the sweep and shard tests share.
/// </summary>
public abstract class TwoTraceFixture((ulong Seed, int Pages, int Length) a, (ulong Seed, int Pages, int Length) b, string prefix)
{
    protected string Dir { get; private set; } = "";
    protected string A { get; private set; } = "";
    protected string B { get; private set; } = "";

    [SetUp]
    public void WriteTraces()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"ecsmem-{prefix}-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        A = Path.Combine(Dir, "a.pages");
        B = Path.Combine(Dir, "b.pages");
        File.WriteAllLines(A, StackDistanceTests.RandomTrace(a.Seed, a.Pages, a.Length).Select(p => p.ToString(CultureInfo.InvariantCulture)));
        File.WriteAllLines(B, StackDistanceTests.RandomTrace(b.Seed, b.Pages, b.Length).Select(p => p.ToString(CultureInfo.InvariantCulture)));
    }

    [TearDown]
    public void Clean() => Directory.Delete(Dir, recursive: true);

    /// <summary>ecsmem with these arguments, in-process: exit code, stdout, stderr.</summary>
    protected static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
