using BenchmarkDotNet.Attributes;
using EcsMem.Components;
using EcsMem.Systems.AddressSpace;

namespace EcsMem.Perf;

/// <summary>
/// VMA lookup and page-table walk costs: find_vma over 1000 VMAs through the vmacache (hits: one address
/// repeated; misses: addresses spread over all VMAs, so the 4 slots keep missing) and plain binary search,
/// and a 4-level walk over 4096 mapped pages.
/// Run: dotnet run -c Release --project perf/Ecs.Mem.Perf -- --filter '*AddressSpaceBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class AddressSpaceBenchmarks
{
    private const int Lookups = 1024;
    private readonly ulong[] _spread = new ulong[Lookups];
    private readonly ulong[] _pages = new ulong[Lookups];
    private Mm _mm = null!;
    private VmaCache _cache = null!;
    private PageTable _table = null!;

    [GlobalSetup]
    public void Setup()
    {
        _mm = new Mm(1, PagingMode.X86_64, new FileTable());
        // 1000 VMAs of 4 pages with 1-page gaps, alternating protections so they never merge.
        for (int i = 0; i < 1000; i++)
        {
            ulong start = 0x1000_0000UL + ((ulong)i * 0x5000);
            _mm.DoMmap(start, 0x4000, (i & 1) == 0 ? Prot.Read : Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0);
        }

        _cache = new VmaCache();
        _table = new PageTable(PagingMode.X86_64);
        ulong state = 12345;
        for (int i = 0; i < Lookups; i++)
        {
            state = (state * 6364136223846793005UL) + 1442695040888963407UL;
            _spread[i] = 0x1000_0000UL + ((state >> 20) % (1000UL * 0x5000));
            ulong page = 0x7f00_0000_0000UL + (((state >> 33) % 4096) << 12) * 97;
            _pages[i] = page;
            _table.Set(page, Pte.Make((ulong)i, Pte.PresentBit).Value);
        }
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FindVmaCacheHit()
    {
        int sum = 0;
        for (int i = 0; i < Lookups; i++)
        {
            sum += _mm.Vmas.FindVma(0x1000_0000UL + 0x1000, _cache);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FindVmaCacheMiss()
    {
        int sum = 0;
        ulong[] spread = _spread;
        for (int i = 0; i < spread.Length; i++)
        {
            sum += _mm.Vmas.FindVma(spread[i], _cache);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int FindVmaBinarySearch()
    {
        int sum = 0;
        ulong[] spread = _spread;
        for (int i = 0; i < spread.Length; i++)
        {
            sum += _mm.Vmas.FindVma(spread[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public ulong PageWalk4Level()
    {
        ulong sum = 0;
        ulong[] pages = _pages;
        for (int i = 0; i < pages.Length; i++)
        {
            sum += _table.Walk(pages[i], out int levels) + (ulong)levels;
        }

        return sum;
    }
}
