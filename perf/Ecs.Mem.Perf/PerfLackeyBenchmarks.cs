using BenchmarkDotNet.Attributes;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// Text trace decoding throughput: Lackey on the 1M-line <see cref="PerfWorkload"/> trace (two thirds instruction-fetch
/// lines); pinatrace on 1M lines as Pin's tool prints them (<c>0xIP: R|W 0xADDRESS</c>, no size), made from the
/// workload's data accesses, each with the address of the fetch before it as its IP.
/// Time per op is per line (lines/s = 1e9 / ns). <see cref="Vectorized"/> false is the plain per-line parser every
/// line falls back to (and the path of hardware without vectors), measured in the same run.
/// </summary>
[MemoryDiagnoser]
public class PerfLackeyBenchmarks
{
    private const int Lines = 1_000_000;
    private readonly MemoryAccess[] _buffer = new MemoryAccess[4096];
    private byte[] _lackey = [];
    private byte[] _pinatrace = [];

    [Params(true, false)]
    public bool Vectorized { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // From memory, so the figure is the decoder's, not the disk's (the CLI reads through a 1 MiB file buffer).
        _lackey = File.ReadAllBytes(PerfWorkload.Ensure("lackey", PerfScale.Scaled(Lines)));
        _pinatrace = PinToolText(PerfScale.Scaled(Lines));
    }

    private static byte[] PinToolText(long lines)
    {
        var text = new System.Text.StringBuilder();
        var gen = new PerfWorkload.Generator(2026);
        var batch = new MemoryAccess[3];
        ulong ip = 0;
        for (long written = 0; written < lines;)
        {
            gen.Fill(batch);
            foreach (var a in batch)
            {
                if (a.Kind == AccessKind.Instr)
                {
                    ip = a.Address;
                    continue;
                }
                text.Append("0x").Append(ip.ToString("x")).Append(": ").Append(a.Kind == AccessKind.Load ? 'R' : 'W')
                    .Append(" 0x").Append(a.Address.ToString("x")).Append('\n');
                written++;
            }
        }
        text.Append("#eof\n");
        return System.Text.Encoding.ASCII.GetBytes(text.ToString());
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public ulong LackeyParse()
    {
        using var reader = new LackeyReader(new MemoryStream(_lackey), "perf.lackey") { Vectorized = Vectorized };
        ulong sum = 0;
        int n;
        while ((n = reader.Read(_buffer)) > 0)
            for (int i = 0; i < n; i++) sum += _buffer[i].Address;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lines)]
    public ulong PinatraceParse()
    {
        using var reader = new PinatraceReader(new MemoryStream(_pinatrace), "perf.pinatrace") { Vectorized = Vectorized };
        ulong sum = 0;
        int n;
        while ((n = reader.Read(_buffer)) > 0)
            for (int i = 0; i < n; i++) sum += _buffer[i].Address;
        return sum;
    }
}
