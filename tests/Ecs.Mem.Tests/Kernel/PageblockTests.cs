using EcsMem.Components;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Grouping by mobility in a whole machine: page tables (GFP_PGTABLE_USER, MIGRATE_UNMOVABLE) gather in pageblocks
/// claimed for them, user pages (MOVABLE) stay out of those. Expected frames worked out by hand from the boot state.
/// </summary>
public class PageblockTests
{
    private const ulong Pmd = 512 * Page; // one PTE table maps 2 MiB

    [Test]
    public void PageTablesFillClaimedPageblocksTwoAtATime()
    {
        // 8192 frames, all MOVABLE at boot; the zero page takes pfn 0, splitting the first order-10 block (1..1023
        // free in smaller Movable blocks); the order-10 Movable list is then 1024, 2048, ..., 7168.
        // One task writes one page in each of 1100 separate 2 MiB ranges: 1100 PTE tables + 3 PMD tables (2.2 GiB)
        // + 1 PUD + the PGD = 1105 unmovable pages. The PGD's allocation claims the largest Movable block, 1024
        // (order 10 >= pageblock_order: pageblocks 2 and 3 become Unmovable); when its 1024 pages are used up the
        // next claim takes 2048 (pageblocks 4 and 5). 2 * ceil(1105 / 1024) = 4 Unmovable pageblocks.
        // The 1100 data pages are Movable: 1..1023 first (__rmqueue_smallest), then 3072 upwards; none in 1024..3071.
        const int ranges = 1100;
        using var m = new SimMachine(Options(8192, swapPages: 0));
        var touches = new MemoryAccess[ranges + 1];
        for (int i = 0; i < ranges; i++)
            touches[i] = W(Base + ((ulong)i * Pmd));
        touches[ranges] = R(Base);
        var p = Add(m, "p", mm => Mmap(mm, Base, (ulong)ranges * 512, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous), 0, touches);
        RunUntilAccesses(m, p, ranges);
        var zone = m.Kernel.Zone;
        var blocks = new long[BuddyAllocator.NrTypes];
        zone.Buddy.CountBlocks(blocks);
        Assert.That(blocks, Is.EqualTo(new long[] { 4, 12, 0 }));
        Assert.That(PageTableFrames(m), Is.EqualTo(1105));
        for (int pfn = 0; pfn < zone.Frames.Length; pfn++)
        {
            bool table = (zone.Frames[pfn].Flags & FrameFlags.Slab) != 0;
            bool inClaimed = pfn >= 1024 && pfn < 3072;
            if (table)
                Assert.That(inClaimed, Is.True, $"page table at pfn {pfn}");
            else if (inClaimed && !zone.Frames[pfn].IsFree)
                Assert.Fail($"a movable page at pfn {pfn} inside the claimed blocks");
        }
        for (int i = 0; i < ranges; i++)
        {
            int pfn = PfnAt(m, p, Base + ((ulong)i * Pmd));
            Assert.That(pfn, Is.EqualTo(i < 1023 ? i + 1 : 3072 + (i - 1023)), $"range {i}");
        }
        Assert.That(Counter(m, "ecsmem_extfrag"), Is.EqualTo(2), "two claims");
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    [Test]
    public void CompactionMovesCleanPageCachePagesMappedOrNot()
    {
        // A task maps 64 pages of a file and reads page 0: a major fault reads it and readahead the pages after it
        // (read_ahead_kb 128: 32 pages); fault-around maps the cached pages of its 16-page window, the others stay
        // cached and unmapped.
        using var m = new SimMachine(Options(1024, swapPages: 0));
        int file = m.Kernel.Files.Intern("/data/f");
        var p = Add(m, "p", mm => Mmap(mm, Base, 64, Prot.Read, MapFlags.Private, file), 0,
            R(Base), R(Base), R(Base), R(Base), R(Base));
        RunUntilAccesses(m, p, 2);
        var c = m.Kernel.Compaction;
        var cache = m.Kernel.PageCache;
        var zone = m.Kernel.Zone;

        // A mapped page: filemap_migrate_folio moves its cache slot, remove_migration_ptes its PTE.
        int mapped = cache.Find(file, 0);
        Assert.That(PfnAt(m, p, Base), Is.EqualTo(mapped));
        Assert.That(c.Movable(mapped), Is.True);
        ulong token = zone.Frames[mapped].ContentToken;
        int dst = zone.Buddy.AllocPages(0);
        c.MigrateTo(mapped, dst);
        Assert.That(cache.Find(file, 0), Is.EqualTo(dst));
        Assert.That(PfnAt(m, p, Base), Is.EqualTo(dst));
        Assert.That(zone.Frames[dst].ContentToken, Is.EqualTo(token));
        Assert.That(zone.Frames[dst].Flags & FrameFlags.Lru, Is.EqualTo(FrameFlags.Lru));
        Assert.That(zone.Frames[mapped].IsFree, Is.True);

        // An unmapped cached page (read ahead, outside fault-around's window): only its cache slot moves.
        long index = -1;
        for (long i = 1; i < 64 && index < 0; i++)
            if (cache.Find(file, i) is int pfn && pfn >= 0 && zone.Frames[pfn].MapCount == 0)
                index = i;
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "readahead cached a page nobody maps");
        int unmapped = cache.Find(file, index);
        Assert.That(c.Movable(unmapped), Is.True);
        ulong token2 = zone.Frames[unmapped].ContentToken;
        int dst2 = zone.Buddy.AllocPages(0);
        c.MigrateTo(unmapped, dst2);
        Assert.That(cache.Find(file, index), Is.EqualTo(dst2));
        Assert.That(zone.Frames[dst2].ContentToken, Is.EqualTo(token2));
        Assert.That(InvariantChecker.Check(m), Is.Empty);

        // A dirty page-cache page stays (its writeback would come first).
        int other = cache.Find(file, 1);
        zone.Frames[other].Flags |= FrameFlags.Dirty;
        Assert.That(c.Movable(other), Is.False);
        zone.Frames[other].Flags &= ~FrameFlags.Dirty;

        RunUntil(m, () => false);
        Assert.That(m.Finished, Is.True);
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }
}

