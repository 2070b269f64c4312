using BenchmarkDotNet.Attributes;
using EcsMem.Systems.Events;
using EcsMem.Systems.Cpu;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// What the event stream costs: the 1M-access pipeline of <see cref="PerfPipelineBenchmarks"/> (binary trace) with
/// no sink (the emission points are a null check each: this must cost what the pipeline cost before events
/// existed), with a sink that drops every event (the cost of building them), and with the JSON Lines writer
/// into a discarding stream (the cost of <c>--events FILE</c> minus the disk). Time per op is per access.
/// </summary>
[MemoryDiagnoser]
public class PerfEventsBenchmarks
{
    private string _trace = "";

    [Params("off", "null-sink", "jsonl")]
    public string Events { get; set; } = "off";

    [GlobalSetup]
    public void Setup() => _trace = PerfWorkload.Ensure("binary", PerfScale.Scaled(1_000_000));

    [Benchmark(OperationsPerInvoke = 1_000_000)]
    public long Accesses1M()
    {
        using var machine = PerfPipelineBenchmarks.Build(new Workload(TraceFormats.OpenReader("binary", _trace)));
        using var writer = Events == "jsonl" ? new EventJsonWriter(Stream.Null) : null;
        if (Events == "null-sink")
            machine.Kernel.AttachEvents(new NullSink());
        else if (writer is not null)
            machine.Kernel.AttachEvents(writer);
        machine.Run();
        return machine.CompletedAccesses();
    }

    /// <summary>Takes every event and keeps nothing.</summary>
    private sealed class NullSink : IEventSink
    {
        public long Count;

        public void Write(in MemEvent e) => Count++;
    }
}
