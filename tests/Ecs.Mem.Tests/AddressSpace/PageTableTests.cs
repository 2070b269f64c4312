using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Tests.AddressSpace;

public class PageTableTests
{
    private sealed class CountingAllocator : IPageTableAllocator
    {
        public int Allocated;
        public int Freed;

        public PageTableCharge TableAllocated(int pageId, int level)
        {
            Allocated++;
            return PageTableCharge.Uncharged;
        }

        public void TableFreed(int pageId, int level) => Freed++;
    }

    /// <summary>
    /// A memory controller's stand-in: a table below <paramref name="overBelow"/> finds group 7 + its level at memory.max,
    /// the others are charged within their limits.
    /// </summary>
    private sealed class LimitAllocator(int overBelow) : IPageTableAllocator
    {
        public PageTableCharge TableAllocated(int pageId, int level) =>
            level < overBelow ? PageTableCharge.OverMax(7 + level) : PageTableCharge.Charged();

        public void TableFreed(int pageId, int level)
        {
        }
    }

    private struct Collect : IPteVisitor
    {
        public List<(ulong Va, ulong Pte)> Seen;

        public readonly void Visit(ulong va, ulong pte) => Seen.Add((va, pte));
    }

    [Test]
    public void FourLevelWalkAllocatesTablesOnDemand()
    {
        var alloc = new CountingAllocator();
        var pt = new PageTable(PagingMode.X86_64, alloc);
        Assert.That(alloc.Allocated, Is.EqualTo(1), "the PGD exists from the start");

        // 0x400000: PGD 0, PUD 0, PMD 2, PTE 0 -> PUD, PMD and PTE tables are new.
        pt.PteAlloc(0x40_0000, out _) = 0x1234_5067;
        pt.Walk(0x40_0000, out int levels);
        Assert.That(levels, Is.EqualTo(4));
        Assert.That((pt.NrPtes, pt.PgtablesBytes), Is.EqualTo((1UL, 3UL * 4096)));
        // 0x401000: same PTE table, entry 1.
        pt.PteAlloc(0x40_1000, out _);
        pt.Walk(0x40_1000, out levels);
        Assert.That((levels, pt.NrPtes), Is.EqualTo((4, 1UL)));
        // 0x600000: PMD index 3, a second PTE table under the same PMD table.
        pt.PteAlloc(0x60_0000, out _) = 0x2_2067;
        Assert.That((pt.NrPtes, pt.PgtablesBytes), Is.EqualTo((2UL, 4UL * 4096)));
        // 0x7ffffffde000: PGD index 255 -> new PUD, PMD and PTE tables.
        pt.PteAlloc(0x7FFF_FFFD_E000, out _) = 0x3_3067;
        Assert.That((pt.NrPtes, pt.PgtablesBytes), Is.EqualTo((3UL, 7UL * 4096)));
        Assert.That(alloc.Allocated, Is.EqualTo(8));

        // Non-allocating walk of 0x40000000 (PGD 0, PUD 1): PGD and PUD are read, the PUD entry is empty.
        ref ulong missing = ref pt.Walk(0x4000_0000, out levels);
        Assert.That(Unsafe.IsNullRef(ref missing), Is.True);
        Assert.That(levels, Is.EqualTo(2));
        Assert.That(pt.Lookup(0x40_0000), Is.EqualTo(0x1234_5067UL));
        Assert.That(pt.Lookup(0x40_2000), Is.Zero);
    }

    [Test]
    public void PteAllocReturnsWhatEachNewTablesChargeDid()
    {
        // Only the PTE level's charges find memory.max. 0x400000 (PGD 0, PUD 0, PMD 2): PUD, PMD and PTE tables are new,
        // three charges, the last one (the PTE table's) above group 7's limit.
        var pt = new PageTable(PagingMode.X86_64, new LimitAllocator(overBelow: 1));
        pt.PteAlloc(0x40_0000, out PageTableCharges c) = 0x1_1067;
        Assert.That((c.Allocated, c.OverMaxCount, c.OverMax, c.OverMemcg(0)), Is.EqualTo((3, 1, true, 7)));
        Assert.That(pt.Lookup(0x40_0000), Is.EqualTo(0x1_1067UL), "the entry is the one PteAlloc returned");
        // 0x401000: the same PTE table, nothing allocated, nothing owed.
        pt.PteAlloc(0x40_1000, out c);
        Assert.That((c.Allocated, c.OverMaxCount, c.OverMax), Is.EqualTo((0, 0, false)));
        // 0x40000000 (PUD 1): a new PMD table (charged) and a PTE table (over the limit).
        pt.PteAlloc(0x4000_0000, out c);
        Assert.That((c.Allocated, c.OverMaxCount), Is.EqualTo((2, 1)));

        // 5-level paging, every charge over a limit: P4D, PUD, PMD and PTE tables, the most one walk allocates, in
        // allocation order (from the root down: levels 3, 2, 1, 0 found groups 10, 9, 8, 7).
        var la57 = new PageTable(PagingMode.X86_64_5Level, new LimitAllocator(overBelow: 5));
        la57.PteAlloc(0x40_0000, out c);
        Assert.That(c.Allocated, Is.EqualTo(PageTableCharges.MaxTables));
        Assert.That(Enumerable.Range(0, c.OverMaxCount).Select(c.OverMemcg), Is.EqualTo(new[] { 10, 9, 8, 7 }));
        PageTableCharges all = c;
        Assert.That(() => all.OverMemcg(4), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void SetCannotReturnAChargeSoItRefusesToDropOneAtMemoryMax()
    {
        // Set (tools, tests) has no charge outcome to give back: a charge at memory.max would owe a reclaim no one
        // queues, so it throws before it stores the entry; charges within the limits are fine (standalone tables, tools).
        var pt = new PageTable(PagingMode.X86_64, new LimitAllocator(overBelow: 1));
        Assert.That(() => pt.Set(0x40_0000, 0x1_1067), Throws.InvalidOperationException.With.Message.Contains("PteAlloc"));
        Assert.That(pt.Lookup(0x40_0000), Is.Zero);
        var within = new PageTable(PagingMode.X86_64, new LimitAllocator(overBelow: 0));
        within.Set(0x40_0000, 0x1_1067);
        within.Walk(0x40_0000, out int levels);
        Assert.That((levels, within.Lookup(0x40_0000)), Is.EqualTo((4, 0x1_1067UL)));
    }

    [Test]
    public void TwoLevelWalkUses1024EntryTables()
    {
        var pt = new PageTable(PagingMode.X86_32);
        pt.PteAlloc(0x0804_8000, out _);
        pt.Walk(0x0804_8000, out int levels);
        Assert.That((levels, pt.NrPtes, pt.PgtablesBytes), Is.EqualTo((2, 1UL, 4096UL)));
        // 0x08448000 >> 22 = 0x21, next to 0x20 for 0x08048000: a second page table.
        pt.PteAlloc(0x0844_8000, out _);
        // 0x083ff000 >> 22 = 0x20: shares the first.
        pt.PteAlloc(0x083F_F000, out _);
        pt.PteAlloc(0xBFFF_F000, out _);
        Assert.That(pt.NrPtes, Is.EqualTo(3UL));
        Assert.That(pt.TablesAt(1), Is.EqualTo(1), "only the page directory at the top level");
    }

    [Test]
    public void UnmapRangeClearsEntriesAndFreesEmptyTables()
    {
        var alloc = new CountingAllocator();
        var pt = new PageTable(PagingMode.X86_64, alloc);
        pt.Set(0x40_0000, 0x1067);
        pt.Set(0x40_1000, 0x2067);
        pt.Set(0x60_0000, 0x3067);
        var seen = new Collect { Seen = new() };
        Assert.That(pt.UnmapRange(0x40_0000, 0x40_2000, ref seen), Is.EqualTo(2));
        Assert.That(seen.Seen, Is.EqualTo(new[] { (0x40_0000UL, 0x1067UL), (0x40_1000UL, 0x2067UL) }));
        // The PTE table of 0x400000 is empty and freed; the PMD still holds 0x600000's table.
        Assert.That((pt.NrPtes, pt.TablesAt(1), pt.TablesAt(2)), Is.EqualTo((1UL, 1L, 1L)));
        Assert.That(pt.UnmapRange(0x60_0000, 0x60_1000, ref seen), Is.EqualTo(1));
        Assert.That((pt.NrPtes, pt.PgtablesBytes, pt.TablesAt(3)), Is.EqualTo((0UL, 0UL, 1L)));
        Assert.That(alloc.Freed, Is.EqualTo(4));
        // Freed tables are reused.
        pt.Set(0x7FFF_FFFF_E000, 0x5067);
        Assert.That(pt.Lookup(0x7FFF_FFFF_E000), Is.EqualTo(0x5067UL));
        pt.FreeAll();
        Assert.That(pt.PgtablesBytes, Is.Zero);
        Assert.That(pt.Lookup(0x7FFF_FFFF_E000), Is.Zero);
    }

    [Test]
    public void WalksOfARegionWalkedBeforeSeeTheTablesAsTheyAreNow()
    {
        // The walk keeps the leaf table of a few 2 MiB regions (16, by va >> 21); what it returns must be what a walk
        // from the root gives: the same entry and 4 levels read, and nothing once the tables are freed.
        var store = new PageTableStore(new World(), PagingMode.X86_64);
        var pt = new PageTable(PagingMode.X86_64, store: store);
        const ulong a = 0x40_0000, b = a + (16UL << 21); // 32 MiB apart: the same cache index, different tags
        pt.Set(a, 0x1067);
        pt.Set(b, 0x2067);
        for (int i = 0; i < 2; i++)
        {
            Assert.That((pt.Walk(a, out int la), la), Is.EqualTo((0x1067UL, 4)));
            Assert.That((pt.Walk(b, out int lb), lb), Is.EqualTo((0x2067UL, 4)));
            Assert.That((pt.Walk(a + 0x1000, out int l1), l1), Is.EqualTo((0UL, 4)), "same table, an empty entry");
        }

        var none = new Collect { Seen = new() };
        pt.UnmapRange(a, a + 0x1000, ref none);
        // a's PTE table is freed; the PMD table stays (b's PTE table is under it).
        Assert.That(Unsafe.IsNullRef(ref pt.Walk(a, out int gone)), Is.True);
        Assert.That(gone, Is.EqualTo(3), "PGD, PUD and PMD entries read; the PMD entry is empty");
        // The freed row goes to another mm's table; this mm's walk must not read it.
        var other = new PageTable(PagingMode.X86_64, store: store);
        other.Set(a, 0x9067);
        Assert.That(Unsafe.IsNullRef(ref pt.Walk(a, out _)), Is.True);
        Assert.That(pt.Lookup(b), Is.EqualTo(0x2067UL));
        pt.Set(a, 0x3067);
        Assert.That((pt.Walk(a, out int again), again, other.Lookup(a)), Is.EqualTo((0x3067UL, 4, 0x9067UL)));
        pt.Release();
        Assert.That(Unsafe.IsNullRef(ref pt.Walk(b, out _)), Is.True);
    }

    [Test]
    public void UnmapRangeAgreesWithADictionaryReference()
    {
        var rng = new SplitMix64(5);
        var pt = new PageTable(PagingMode.X86_64);
        var reference = new Dictionary<ulong, ulong>();
        for (int i = 0; i < 3000; i++)
        {
            // Pages clustered in a 4 GiB window so tables are shared and emptied.
            ulong va = (rng.Next() % 0x1_0000_0000UL) & Pte.PageMask;
            if (rng.Below(3) == 0)
            {
                ulong len = (ulong)(1 + rng.Below(2048)) << 12;
                var seen = new Collect { Seen = new() };
                pt.UnmapRange(va, va + len, ref seen);
                var expected = reference.Where(kv => kv.Key >= va && kv.Key < va + len).OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToList();
                Assert.That(seen.Seen, Is.EqualTo(expected));
                foreach (var e in expected)
                {
                    reference.Remove(e.Key);
                }
            }
            else
            {
                ulong pte = Pte.Make(rng.Next() & 0xFFFFF, Pte.PresentBit).Value;
                pt.Set(va, pte);
                reference[va] = pte;
            }
        }

        foreach (var kv in reference)
        {
            Assert.That(pt.Lookup(kv.Key), Is.EqualTo(kv.Value));
        }

        // Leaf tables in use must be exactly the distinct 2 MiB blocks still holding entries.
        ulong blocks = (ulong)reference.Keys.Select(k => k >> 21).Distinct().Count();
        Assert.That(pt.NrPtes, Is.EqualTo(blocks));
    }
}

public class PageTablePageTests
{
    [Test]
    public void TablesHoldTheirEntriesInline()
    {
        Assert.That(System.Runtime.CompilerServices.Unsafe.SizeOf<PageTableEntries>(), Is.EqualTo(4096));

        var pt = new PageTable(PagingMode.X86_64);
        pt.Set(0x40_3000, 0x8000_0000_0012_3067UL);
        // Walk to the PTE table: PGD entry 0 -> PUD entry 0 -> PMD entry 2 -> PTE table.
        int pud = (int)(pt.Entries(pt.Root)[0] >> 12);
        int pmd = (int)(pt.Entries(pud)[0] >> 12);
        int pte = (int)(pt.Entries(pmd)[2] >> 12);
        Assert.That(pt.LevelOf(pte), Is.Zero);
        Assert.That(pt.Entries(pte)[3], Is.EqualTo(0x8000_0000_0012_3067UL));
        Assert.That(pt.Entries(pte).Length, Is.EqualTo(512));
        Assert.That(pt.LevelOf(pmd), Is.EqualTo(1));

        // 32-bit: one 1024-entry table per 4 MiB; 0x0804_8000 is entry 0x48 of the table for 0x08000000..0x083fffff.
        var pt32 = new PageTable(PagingMode.X86_32);
        pt32.Set(0x0804_8000, 0x0000_0000_0012_3067UL);
        int table = (int)(pt32.Entries(pt32.Root)[0x20] >> 12);
        Assert.That(pt32.Entries(table)[0x48], Is.EqualTo(0x0012_3067UL));
        Assert.That(pt32.Entries(table).Length, Is.EqualTo(1024));
    }
}
