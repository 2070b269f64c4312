using System.Text;
using BenchmarkDotNet.Attributes;
using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Systems.Caches.Cachegrind;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// Cost per simulated access of the L1i/L1d/L2/L3 hierarchy and of the Cachegrind model, and
/// Lackey parsing throughput (each reported per access / per line through OperationsPerInvoke).
/// The access stream mixes instruction fetches in a small loop, sequential data and random data
/// over 8 MiB, so all levels see hits and misses.
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private const int N = 1 << 20;
    private MemoryAccess[] _accesses = [];
    private byte[] _lackeyText = [];
    private readonly MemoryAccess[] _batch = new MemoryAccess[4096];
    private CacheHierarchy<LruReplacement> _hierarchy = null!;
    private CachegrindSimulator _cachegrind = null!;

    [GlobalSetup]
    public void Setup()
    {
        _accesses = new MemoryAccess[N];
        var rng = new SplitMix64(2024);
        ulong seq = 0x10000000;
        var sb = new StringBuilder(N * 16);
        for (int i = 0; i < N; i++)
        {
            ulong r = rng.Next();
            MemoryAccess a = (r % 4) switch
            {
                0 or 1 => new MemoryAccess(0x400000 + (ulong)(i % 4096) * 4, 0, 4, AccessKind.Instr),
                2 => new MemoryAccess(seq += 8, 0, 8, (r & 16) != 0 ? AccessKind.Store : AccessKind.Load),
                _ => new MemoryAccess(0x20000000 + ((r >> 8) % (8 << 20)), 0, 4, (AccessKind)(1 + (r >> 60) % 3)),
            };
            _accesses[i] = a;
            sb.Append(a.Kind switch { AccessKind.Instr => "I  ", AccessKind.Load => " L ", AccessKind.Store => " S ", _ => " M " })
              .Append(a.Address.ToString("x8")).Append(',').Append(a.Size).Append('\n');
        }
        _lackeyText = Encoding.ASCII.GetBytes(sb.ToString());
        _hierarchy = new CacheHierarchy<LruReplacement>(new World(), CacheHierarchyConfig.Seed, default);
        _cachegrind = new CachegrindSimulator(new World(), CachegrindConfig.Seed);
    }

    [Benchmark(OperationsPerInvoke = N)]
    public long HierarchyAccess()
    {
        _hierarchy.Run(_accesses);
        return _hierarchy.L1d.Counters.Misses;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public long CachegrindAccess()
    {
        _cachegrind.Run(_accesses);
        return _cachegrind.Counts.D1mr;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public long LackeyParseLine()
    {
        using var reader = new LackeyReader(new MemoryStream(_lackeyText, writable: false), "bench");
        long total = 0;
        int n;
        while ((n = reader.Read(_batch)) > 0)
            total += n;
        return total;
    }
}
