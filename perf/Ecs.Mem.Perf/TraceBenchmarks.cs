using BenchmarkDotNet.Attributes;
using EcsMem.Traces;
using EcsMem.Traces.Synthetic;

namespace EcsMem.Perf;

/// <summary>
/// Trace decoding throughput. Each benchmark reads a whole file generated in <see cref="Setup"/>;
/// <see cref="OperationsPerInvokeAttribute"/> makes the reported time per record, so
/// records/s = 1e9 / (ns per op). The files live in a temp dir (page cache warm after the first run).
/// </summary>
[MemoryDiagnoser]
public class TraceBenchmarks
{
    private const int BinaryRecords = 4_000_000;
    private const int PinatraceRecords = 1_000_000;

    private readonly MemoryAccess[] _buffer = new MemoryAccess[4096];
    private string _dir = "";
    private string _binary = "";
    private string _pinatrace = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ecsmem-perf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _binary = Path.Combine(_dir, "trace.bin");
        _pinatrace = Path.Combine(_dir, "trace.pin");
        Write(WorkloadSpec.Parse($"uniform:count={BinaryRecords},region=1G,writes=0.3,seed=1"), new BinaryTraceWriter(_binary));
        Write(WorkloadSpec.Parse($"uniform:count={PinatraceRecords},region=1G,writes=0.3,seed=1"), new PinatraceWriter(_pinatrace));
    }

    private static void Write(WorkloadSpec spec, ITraceWriter writer)
    {
        using (writer)
        using (var reader = spec.Create())
        {
            TraceFormats.Copy(reader, writer);
            writer.Complete();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(OperationsPerInvoke = BinaryRecords)]
    public ulong BinaryDecode() => Drain(new BinaryTraceReader(TraceFile.Open(_binary), _binary));

    [Benchmark(OperationsPerInvoke = PinatraceRecords)]
    public ulong PinatraceParse() => Drain(new PinatraceReader(TraceFile.Open(_pinatrace), _pinatrace));

    /// <summary>Reads everything; the address sum keeps the JIT from discarding the work.</summary>
    private ulong Drain(ITraceReader reader)
    {
        using (reader)
        {
            ulong sum = 0;
            int n;
            while ((n = reader.Read(_buffer)) > 0)
                for (int i = 0; i < n; i++)
                    sum += _buffer[i].Address;
            return sum;
        }
    }
}
