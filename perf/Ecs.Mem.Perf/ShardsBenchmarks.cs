using BenchmarkDotNet.Attributes;
using EcsMem.Systems.Ideal;

namespace EcsMem.Perf;

/// <summary>
/// Memory and time of an LRU miss-ratio curve: the exact one-pass Mattson analysis (<see cref="StackDistance"/>)
/// against SHARDS at fixed rates 0.01 and 0.001 and at fixed size 8192, on 4M zipf(0.9) references over 1M pages.
/// MemoryDiagnoser's "Allocated" is everything one curve allocates: the
/// exact analysis grows with the distinct pages (page map, Fenwick tree and time axis), SHARDS with the sample.
/// </summary>
[MemoryDiagnoser]
public class ShardsBenchmarks
{
    private ulong[] _pages = [];

    [Params("exact", "R=0.01", "R=0.001", "s_max=8192")]
    public string Analysis { get; set; } = "exact";

    [GlobalSetup]
    public void Setup()
    {
        bool dry = PerfScale.Dry;
        _pages = ZipfPages.Generate(dry ? 100_000 : 4_000_000, dry ? 20_000 : 1_000_000, 0.9, seed: 2026);
    }

    [Benchmark]
    public long Curve()
    {
        if (Analysis == "exact")
        {
            var sd = new StackDistance();
            sd.Run(_pages);
            return sd.ResultFor(100_000).Faults;
        }
        ShardsSettings settings = Analysis switch
        {
            "R=0.01" => new ShardsSettings(0.01),
            "R=0.001" => new ShardsSettings(0.001),
            _ => new ShardsSettings(1.0, Size: 8192),
        };
        var s = new Shards(settings);
        s.Run(_pages);
        return s.ResultFor(100_000).Faults;
    }
}
