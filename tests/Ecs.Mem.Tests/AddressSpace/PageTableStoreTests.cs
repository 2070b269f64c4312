using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Tests.AddressSpace;

/// <summary>Page-table entries live in the World: rows of <see cref="PageTableStore"/> tables.</summary>
public class PageTableStoreTests
{
    [Test]
    public void SegmentsDoubleAndEarlierReferencesSurviveGrowth()
    {
        var world = new World();
        var store = new PageTableStore(world, PagingMode.X86_64);
        int first = store.Allocate();
        ref ulong kept = ref store.Entry(first, 5);
        kept = 0xabc;
        // Segments hold 16, 32, 64, ... tables: 49 tables need the first three, 16 + 32 + 64 = 112 rows.
        for (int i = 1; i < 49; i++)
        {
            store.Allocate();
        }

        Assert.That((store.InUse, store.Capacity), Is.EqualTo((49, 112)));
        Assert.That(world.Size, Is.EqualTo(112), "every row is an entity");
        // Growth created new tables and copied nothing: the reference taken before still reads the row.
        kept++;
        Assert.That(store.Entry(first, 5), Is.EqualTo(0xabdUL));
        Assert.That(world.Get<PageTableEntries>(store.EntityOf(first))[5], Is.EqualTo(0xabdUL));

        // Table 48 is row 0 of the third segment (16 + 32 = 48 tables before it).
        store.Entry(48, 511) = 7;
        Assert.That(world.Get<PageTableEntries>(store.EntityOf(48))[511], Is.EqualTo(7UL));
        Assert.That(store.EntityOf(48), Is.Not.EqualTo(store.EntityOf(47)));
    }

    [Test]
    public void FreedTablesComeBackZeroed()
    {
        var store = new PageTableStore(new World(), PagingMode.X86_64);
        int a = store.Allocate();
        store.Entries(a).Fill(0x1067);
        store.Free(a);
        Assert.That(store.InUse, Is.Zero);
        int b = store.Allocate();
        Assert.That(b, Is.EqualTo(a), "the free row is reused first");
        Assert.That(store.Entries(b).IndexOfAnyExcept(0UL), Is.EqualTo(-1));
        Assert.That(() => store.Free(99), Throws.InstanceOf<ArgumentOutOfRangeException>());
        // A row freed twice would be handed out twice: refused, and the free list is unchanged.
        store.Free(b);
        Assert.That(() => store.Free(b), Throws.InvalidOperationException.With.Message.Contains("freed twice"));
        Assert.That(store.Allocate(), Is.EqualTo(b));
        Assert.That(store.InUse, Is.EqualTo(1));
    }

    [Test]
    public void APageTablesEntriesAreItsEntitiesComponents()
    {
        var world = new World();
        var pt = new PageTable(PagingMode.X86_64, null, new PageTableStore(world, PagingMode.X86_64));
        pt.Set(0x40_3000, 0x8000_0000_0012_3067UL);
        // PGD entry 0 -> PUD entry 0 -> PMD entry 2 -> PTE table, entry 3; read every level from the World.
        Entity pgd = pt.EntityOf(pt.Root);
        int pud = (int)(world.Get<PageTableEntries>(pgd)[0] >> 12);
        int pmd = (int)(world.Get<PageTableEntries>(pt.EntityOf(pud))[0] >> 12);
        int pte = (int)(world.Get<PageTableEntries>(pt.EntityOf(pmd))[2] >> 12);
        Assert.That(world.Get<PageTableEntries>(pt.EntityOf(pte))[3], Is.EqualTo(0x8000_0000_0012_3067UL));
        // The same entry through a query over the component: exactly one non-zero leaf value in the World.
        int leaves = 0;
        foreach (Chunk c in world.GetQuery(new QueryDescription().WithAll<PageTableEntries>()))
        {
            foreach (ref readonly PageTableEntries t in c.GetSpan<PageTableEntries>())
            {
                foreach (ulong e in (ReadOnlySpan<ulong>)t)
                {
                    if (e == 0x8000_0000_0012_3067UL)
                    {
                        leaves++;
                    }
                }
            }
        }

        Assert.That(leaves, Is.EqualTo(1));

        // Writing the component is writing the page table.
        world.Get<PageTableEntries>(pt.EntityOf(pte))[4] = 0x5067;
        Assert.That(pt.Lookup(0x40_4000), Is.EqualTo(0x5067UL));
    }

    [Test]
    public void TwoLevelTablesKeep1024EntriesOf64Bits()
    {
        var world = new World();
        var pt = new PageTable(PagingMode.X86_32, null, new PageTableStore(world, PagingMode.X86_32));
        // 0x08200000: directory index 0x08200000 >> 22 = 0x20, table index (0x08200000 >> 12) & 1023 = 512,
        // the first entry beyond a 512-entry table. A swap-like value with bits above 31 survives.
        pt.Set(0x0820_0000, 0xF800_0000_0000_0200UL);
        int table = (int)(pt.Entries(pt.Root)[0x20] >> 12);
        var entries = world.Get<PageTableEntries1024>(pt.EntityOf(table));
        Assert.That(((ReadOnlySpan<ulong>)entries).Length, Is.EqualTo(1024));
        Assert.That(entries[512], Is.EqualTo(0xF800_0000_0000_0200UL));
        Assert.That(() => new PageTable(PagingMode.X86_32, null, new PageTableStore(world, PagingMode.X86_64)), Throws.ArgumentException);
    }

    [Test]
    public void ReleaseReturnsEveryRowAndLeavesATableThatMapsNothing()
    {
        var store = new PageTableStore(new World(), PagingMode.X86_64);
        var a = new PageTable(PagingMode.X86_64, null, store);
        var b = new PageTable(PagingMode.X86_64, null, store);
        a.Set(0x40_0000, 0x1067);
        b.Set(0x7FFF_FFFF_E000, 0x2067);
        // Two roots, plus PUD, PMD and PTE tables for each mapping: 2 + 3 + 3.
        Assert.That(store.InUse, Is.EqualTo(8));
        a.Release();
        Assert.That(store.InUse, Is.EqualTo(4));
        Assert.That((a.IsReleased, a.Lookup(0x40_0000), a.Entries(a.Root).Length), Is.EqualTo((true, 0UL, 0)));
        Assert.That(() => a.Set(0x40_0000, 1), Throws.InvalidOperationException);
        Assert.That(b.Lookup(0x7FFF_FFFF_E000), Is.EqualTo(0x2067UL), "the other table is untouched");
    }

    [Test]
    public void SteadyStateWalksAllocateNothing()
    {
        var pt = new PageTable(PagingMode.X86_64);
        for (ulong i = 0; i < 64; i++)
        {
            pt.Set(0x7f00_0000_0000UL + (i * 0x20_1000), i + 1);
        }

        ulong sum = 0;
        // The least of four windows of 25 rounds: a JIT tier-up can allocate once on this thread; a per-walk
        // allocation shows in every window.
        long least = long.MaxValue;
        for (int window = 0; window < 4; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int round = 0; round < 25; round++)
            {
                for (ulong i = 0; i < 64; i++)
                {
                    sum += pt.Walk(0x7f00_0000_0000UL + (i * 0x20_1000), out int levels) + (ulong)levels;
                }
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That(least, Is.Zero);
        // Each round adds (1 + ... + 64) for the values and 64 * 4 for the levels.
        Assert.That(sum, Is.EqualTo(100UL * ((64 * 65 / 2) + (64 * 4))));
    }
}
