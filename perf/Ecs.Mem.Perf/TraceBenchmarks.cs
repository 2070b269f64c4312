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
    private const int ChampSimRecords = 1_000_000;
    private const int OracleRecords = 4_000_000;
    private const int CsvRecords = 1_000_000;

    private readonly MemoryAccess[] _buffer = new MemoryAccess[4096];
    private string _dir = "";
    private string _binary = "";
    private string _pinatrace = "";
    private string _champsim = "";
    private string _oracle = "";
    private string _csv = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ecsmem-perf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _binary = Path.Combine(_dir, "trace.bin");
        _pinatrace = Path.Combine(_dir, "trace.pin");
        Write(WorkloadSpec.Parse($"uniform:count={BinaryRecords},region=1G,writes=0.3,seed=1"), new BinaryTraceWriter(_binary));
        Write(WorkloadSpec.Parse($"uniform:count={PinatraceRecords},region=1G,writes=0.3,seed=1"), new PinatraceWriter(_pinatrace));
        _champsim = Path.Combine(_dir, "trace.champsim");
        _oracle = Path.Combine(_dir, "trace.oracleGeneral.bin");
        _csv = Path.Combine(_dir, "trace.csv");
        WriteChampSim(_champsim);
        Write(WorkloadSpec.Parse($"zipf:count={OracleRecords},pages=100000,alpha=0.9,seed=1"), new OracleGeneralWriter(_oracle));
        Write(WorkloadSpec.Parse($"zipf:count={CsvRecords},pages=100000,alpha=0.9,writes=0.3,seed=1"), new CsvTraceWriter(_csv));
        // The championship traces come as .xz: the same file compressed by xz-utils, when it is installed.
        if (File.Exists("/usr/bin/xz"))
            System.Diagnostics.Process.Start("/usr/bin/xz", ["-k", "-1", "-T1", _champsim])!.WaitForExit();
    }

    /// <summary>ChampSim records shaped like real code: a fetch every 4 bytes, a load in every other instruction, a store in every fourth.</summary>
    private static void WriteChampSim(string path)
    {
        var rng = new Random(1);
        var accesses = new List<MemoryAccess>(ChampSimRecords * 2);
        for (int i = 0; i < ChampSimRecords; i++)
        {
            accesses.Add(new MemoryAccess(0x400000 + (ulong)(i % 65536) * 4, 0, 4, AccessKind.Instr));
            if (i % 2 == 0) accesses.Add(new MemoryAccess(0x10000000 + (ulong)rng.Next(1 << 24) * 8, 0, 8, AccessKind.Load));
            if (i % 4 == 0) accesses.Add(new MemoryAccess(0x20000000 + (ulong)rng.Next(1 << 24) * 8, 0, 8, AccessKind.Store));
        }
        using var w = new ChampSimTraceWriter(path);
        w.Write(accesses.ToArray());
        w.Complete();
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

    /// <summary>ChampSim input_instr, plain (per record = per instruction).</summary>
    [Benchmark(OperationsPerInvoke = ChampSimRecords)]
    public ulong ChampSimDecode() => Drain(new ChampSimTraceReader(TraceFile.Open(_champsim), _champsim));

    /// <summary>The same ChampSim file as .xz, decoded by SharpCompress (per record).</summary>
    [Benchmark(OperationsPerInvoke = ChampSimRecords)]
    public ulong ChampSimXzDecode() => File.Exists(_champsim + ".xz") ? Drain(new ChampSimTraceReader(TraceFile.Open(_champsim + ".xz"), _champsim)) : 0;

    [Benchmark(OperationsPerInvoke = OracleRecords)]
    public ulong OracleGeneralDecode() => Drain(new OracleGeneralReader(TraceFile.Open(_oracle), _oracle));

    [Benchmark(OperationsPerInvoke = CsvRecords)]
    public ulong CsvParse() => Drain(new CsvTraceReader(TraceFile.Open(_csv), _csv));

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
