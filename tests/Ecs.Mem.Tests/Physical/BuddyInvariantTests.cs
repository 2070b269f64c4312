
namespace EcsMem.Tests.Physical;

/// <summary>
/// Tens of thousands of seeded random AllocPages/FreePages against a reference model (one bool per page plus the
/// list of allocated blocks), checking the buddy invariants by brute force along the way.
/// </summary>
public class BuddyInvariantTests
{
    private sealed class Model(int start, int count)
    {
        public readonly bool[] Allocated = new bool[count];
        public readonly List<(int Pfn, int Order)> Blocks = [];
        public long AllocatedPages;

        public bool IsRangeFree(int pfn, int order)
        {
            for (int p = pfn; p < pfn + (1 << order); p++)
                if (Allocated[p - start])
                    return false;
            return true;
        }

        // With complete coalescing, an order-k request can be met iff some aligned 2^k range inside the zone is
        // entirely free (all of its pages would have merged into a block of order >= k).
        public bool AnyAlignedFreeRange(int order)
        {
            int size = 1 << order;
            long first = ((long)start + size - 1) / size * size;
            for (long pfn = first; pfn + size <= (long)start + count; pfn += size)
                if (IsRangeFree((int)pfn, order))
                    return true;
            return false;
        }

        public void Mark(int pfn, int order, bool value)
        {
            for (int p = pfn; p < pfn + (1 << order); p++)
                Allocated[p - start] = value;
            AllocatedPages += value ? 1 << order : -(1 << order);
        }
    }

    [TestCase(4096, 0, 1UL, 30000)]
    [TestCase(5000, 7, 2UL, 30000)]      // unaligned start, size not a multiple of 1024
    [TestCase(3000, 1021, 3UL, 30000)]
    [TestCase(300, 0, 4UL, 20000)]       // smaller than one max-order block: lots of failures
    public void RandomAllocFreeKeepsInvariants(int pages, int startPfn, ulong seed, int operations)
    {
        var a = new BuddyAllocator(pages, startPfn);
        var model = new Model(startPfn, pages);
        var rng = new SplitMix64(seed);
        long allocs = 0, frees = 0;
        var failures = new long[BuddyAllocator.NrOrders];

        CheckInvariants(a, model, startPfn, pages);
        for (int op = 0; op < operations; op++)
        {
            // Bias towards small orders as real workloads do; keep a balance of allocs and frees, drifting in phases
            // so that memory fills up (failures, fragmentation) and drains again (coalescing up to order 10).
            bool fillPhase = (op / 2500) % 2 == 0;
            bool doAlloc = model.Blocks.Count == 0 || rng.NextInt(100) < (fillPhase ? 65 : 35);
            if (doAlloc)
            {
                int order = rng.NextInt(4) == 0 ? rng.NextInt(BuddyAllocator.NrOrders) : rng.NextInt(3);
                int pfn = a.AllocPages(order);
                if (pfn < 0)
                {
                    Assert.That(model.AnyAlignedFreeRange(order), Is.False, $"op {op}: order {order} failed although a free aligned range exists");
                    failures[order]++;
                }
                else
                {
                    Assert.That(pfn % (1 << order), Is.EqualTo(0), $"op {op}: block {pfn} not aligned to order {order}");
                    Assert.That(pfn >= startPfn && pfn + (1 << order) <= startPfn + pages, Is.True, $"op {op}: block {pfn} outside the zone");
                    Assert.That(model.IsRangeFree(pfn, order), Is.True, $"op {op}: block {pfn}/{order} overlaps an allocated one");
                    model.Mark(pfn, order, true);
                    model.Blocks.Add((pfn, order));
                    allocs++;
                }
            }
            else
            {
                int i = rng.NextInt(model.Blocks.Count);
                var (pfn, order) = model.Blocks[i];
                model.Blocks[i] = model.Blocks[^1];
                model.Blocks.RemoveAt(model.Blocks.Count - 1);
                a.FreePages(pfn, order);
                model.Mark(pfn, order, false);
                frees++;
            }

            if (op % 97 == 0)
                CheckInvariants(a, model, startPfn, pages);
        }
        CheckInvariants(a, model, startPfn, pages);
        Assert.That((a.AllocCount, a.FreeCount), Is.EqualTo((allocs, frees)));
        Assert.That(a.AllocFailures.ToArray(), Is.EqualTo(failures));
        Assert.That(allocs, Is.GreaterThan(operations / 3), "the run exercised allocation");

        // Drain: with everything returned, the free lists are exactly the initial ones again.
        foreach (var (pfn, order) in model.Blocks)
            a.FreePages(pfn, order);
        Assert.That(a.FormatBuddyInfo(), Is.EqualTo(new BuddyAllocator(pages, startPfn).FormatBuddyInfo()));
    }

    private static void CheckInvariants(BuddyAllocator a, Model model, int start, int pages)
    {
        var covered = new bool[pages];
        var list = new int[pages];
        long freePages = 0;
        for (int order = 0; order < BuddyAllocator.NrOrders; order++)
        {
            int n = a.CopyFreeList(order, list);
            Assert.That(a.NrFree[order], Is.EqualTo(n), $"nr_free[{order}] matches the list length");
            for (int i = 0; i < n; i++)
            {
                int pfn = list[i];
                int size = 1 << order;
                Assert.That(pfn % size, Is.EqualTo(0), $"free block {pfn} aligned to order {order}");
                Assert.That(pfn >= start && pfn + size <= start + pages, Is.True, $"free block {pfn}/{order} inside the zone");
                Assert.That(a.FreeBlockOrderAt(pfn), Is.EqualTo(order), $"free block {pfn} records its order");
                for (int p = pfn; p < pfn + size; p++)
                {
                    Assert.That(covered[p - start], Is.False, $"page {p} on two free lists");
                    Assert.That(model.Allocated[p - start], Is.False, $"free page {p} is allocated");
                    covered[p - start] = true;
                }
                freePages += size;

                if (order < BuddyAllocator.MaxOrder)
                    Assert.That(a.FreeBlockOrderAt(pfn ^ size), Is.Not.EqualTo(order), $"free buddies {pfn} and {pfn ^ size} left uncoalesced at order {order}");
            }
        }
        Assert.That(freePages, Is.EqualTo(pages - model.AllocatedPages), "free = total - allocated");
        Assert.That(a.NrFreePages, Is.EqualTo(freePages));
        Assert.That(a.AllocatedPages, Is.EqualTo(model.AllocatedPages));
        foreach (var (pfn, order) in model.Blocks)
            Assert.That(a.IsAllocatedHead(pfn, order), Is.True, $"block {pfn}/{order} still allocated");
    }
}
