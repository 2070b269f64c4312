using BenchmarkDotNet.Attributes;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// Valgrind Lackey parsing throughput on the 1M-line <see cref="PerfWorkload"/> trace (two thirds
/// instruction-fetch lines). Time per op is per line (lines/s = 1e9 / ns).
/// </summary>
[MemoryDiagnoser]
public class PerfLackeyBenchmarks
{
    private const int Lines = 1_000_000;
    private readonly MemoryAccess[] _buffer = new MemoryAccess[4096];
    private string _path = "";

    [GlobalSetup]
    public void Setup() => _path = PerfWorkload.Ensure("lackey", PerfScale.Scaled(Lines));

    [Benchmark(OperationsPerInvoke = Lines)]
    public ulong LackeyParse()
    {
        using ITraceReader reader = TraceFormats.OpenReader("lackey", _path);
        ulong sum = 0;
        int n;
        while ((n = reader.Read(_buffer)) > 0)
            for (int i = 0; i < n; i++) sum += _buffer[i].Address;
        return sum;
    }
}
