using BenchmarkDotNet.Attributes;
using EcsMem.Systems.PageAlloc;

namespace EcsMem.Perf;

/// <summary>
/// Buddy allocator hot paths on a 1 GiB zone (262144 pages): an order-0 alloc/free pair, and a steady-state mix of
/// orders where each step allocates a new block and frees the oldest live one (a FIFO of 4096 blocks), so splits
/// and merges both happen. Both must report 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class BuddyBenchmarks
{
    private const int Ops = 4096;
    private const int Live = 4096;

    private BuddyAllocator _pairZone = null!;
    private BuddyAllocator _mixedZone = null!;
    private readonly int[] _orders = new int[Ops];
    private readonly int[] _livePfn = new int[Live];
    private readonly int[] _liveOrder = new int[Live];
    private int _cursor;

    [GlobalSetup]
    public void Setup()
    {
        _pairZone = new BuddyAllocator(262144);
        // Fragment the pair zone a little so an order-0 request is served from a non-empty order-0 list
        // half of the time and by a split the other half.
        for (int i = 0; i < 1000; i++)
            _pairZone.AllocPages(0);

        // Orders skewed to small ones as in practice: 3/4 order 0..2, 1/4 order 0..10 (deterministic xorshift).
        ulong s = 0x9E3779B97F4A7C15UL;
        for (int i = 0; i < Ops; i++)
        {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            _orders[i] = (s & 3) == 0 ? (int)((s >> 8) % 11) : (int)((s >> 8) % 3);
        }

        _mixedZone = new BuddyAllocator(262144);
        for (int i = 0; i < Live; i++)
        {
            _liveOrder[i] = _orders[i];
            _livePfn[i] = _mixedZone.AllocPages(_orders[i]);
        }
        _cursor = 0;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int AllocFreeOrder0Pair()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            int pfn = _pairZone.AllocPages(0);
            _pairZone.FreePages(pfn, 0);
            sum += pfn;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int MixedOrdersFifo()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            int slot = _cursor;
            _cursor = slot + 1 == Live ? 0 : slot + 1;
            if (_livePfn[slot] >= 0)
                _mixedZone.FreePages(_livePfn[slot], _liveOrder[slot]);
            int order = _orders[i];
            int pfn = _mixedZone.AllocPages(order);
            _livePfn[slot] = pfn;
            _liveOrder[slot] = order;
            sum += pfn;
        }
        return sum;
    }
}
