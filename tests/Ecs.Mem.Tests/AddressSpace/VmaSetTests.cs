using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

public class VmaSetTests
{
    private static Vma Make(ulong start, ulong end) => new() { Start = start, End = end, Flags = VmFlags.Read, FileId = -1, PgOff = start >> 12 };

    [Test]
    public void FindVmaMatchesALinearScanOnRandomSets()
    {
        var rng = new SplitMix64(42);
        for (int round = 0; round < 50; round++)
        {
            var set = new VmaSet();
            var reference = new List<Vma>();
            ulong addr = (ulong)rng.Below(16) << 12;
            int n = rng.Below(60);
            for (int i = 0; i < n; i++)
            {
                addr += (ulong)rng.Below(4) << 12; // gap of 0..3 pages (0 = adjacent)
                ulong end = addr + ((ulong)(1 + rng.Below(8)) << 12);
                reference.Add(Make(addr, end));
                addr = end;
            }

            // Insert in shuffled order: the set must sort them.
            var order = reference.ToArray();
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Below(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }

            foreach (Vma v in order)
            {
                set.Insert(v);
            }

            var cache = new VmaCache();
            for (int q = 0; q < 300; q++)
            {
                ulong a = rng.Next() % (addr + 0x5000);
                int expected = reference.FindIndex(v => v.End > a); // Linux's contract, by definition
                Assert.That(set.FindVma(a), Is.EqualTo(expected), $"addr 0x{a:x}");
                Assert.That(set.FindVma(a, cache), Is.EqualTo(expected), $"cached addr 0x{a:x}");
                int idx = set.FindVmaPrev(a, out int prev);
                Assert.That(idx, Is.EqualTo(expected));
                Assert.That(prev, Is.EqualTo(expected < 0 ? reference.Count - 1 : expected - 1));
                int lookup = reference.FindIndex(v => v.Start <= a && a < v.End);
                Assert.That(set.VmaLookup(a), Is.EqualTo(lookup));
            }

            Assert.That(cache.Hits + cache.Misses, Is.EqualTo(300));
        }
    }

    [Test]
    public void FindVmaReturnsTheNextVmaFromAGapAndNoneFromPastTheEnd()
    {
        var set = new VmaSet();
        set.Insert(Make(0x1000, 0x3000));
        set.Insert(Make(0x10000, 0x20000));
        Assert.That(set.FindVma(0x0), Is.EqualTo(0));
        Assert.That(set.FindVma(0x2fff), Is.EqualTo(0));
        Assert.That(set.FindVma(0x3000), Is.EqualTo(1), "end is exclusive: 0x3000 is in the gap, next VMA answers");
        Assert.That(set.FindVma(0x1ffff), Is.EqualTo(1));
        Assert.That(set.FindVma(0x20000), Is.EqualTo(-1));
        Assert.That(set.FindVmaIntersection(0x3000, 0x10000), Is.EqualTo(-1));
        Assert.That(set.FindVmaIntersection(0x3000, 0x10001), Is.EqualTo(1));
        Assert.That(() => set.Insert(Make(0x2000, 0x4000)), Throws.InvalidOperationException);
    }

    [Test]
    public void VmaCacheHitsAndMissesWorkedByHand()
    {
        var set = new VmaSet();
        set.Insert(Make(0x1000, 0x3000));   // A, index 0
        set.Insert(Make(0x10000, 0x20000)); // B, index 1
        var cache = new VmaCache();

        // 1. 0x1000: empty cache -> miss; search finds A; slot hash(0x1000) = 1 holds A.
        Assert.That(set.FindVma(0x1000, cache), Is.EqualTo(0));
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((0L, 1L)));
        Assert.That(cache.SlotIndex(1), Is.EqualTo(0));
        // 2. 0x2000: slot 2 empty, but every slot is checked: slot 1 (A) contains it -> hit.
        Assert.That(set.FindVma(0x2000, cache), Is.EqualTo(0));
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((1L, 1L)));
        // 3. 0x10000: no cached VMA contains it -> miss; B goes to slot (0x10 & 3) = 0.
        Assert.That(set.FindVma(0x10000, cache), Is.EqualTo(1));
        Assert.That(cache.SlotIndex(0), Is.EqualTo(1));
        // 4. 0x14000: slot 0 holds B -> hit.
        Assert.That(set.FindVma(0x14000, cache), Is.EqualTo(1));
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((2L, 2L)));
        // 5. 0x5000 lies in the gap: miss; find_vma answers B and it is cached in slot 5 & 3 = 1, evicting A.
        Assert.That(set.FindVma(0x5000, cache), Is.EqualTo(1));
        Assert.That(cache.SlotIndex(1), Is.EqualTo(1));
        // 6. 0x1000 again: A was evicted -> miss.
        Assert.That(set.FindVma(0x1000, cache), Is.EqualTo(0));
        Assert.That((cache.Hits, cache.Misses), Is.EqualTo((2L, 4L)));
        // 7. Any change moves the sequence number: the next lookup flushes and misses.
        set.Insert(Make(0x40000, 0x41000));
        Assert.That(set.FindVma(0x14000, cache), Is.EqualTo(1));
        Assert.That((cache.Hits, cache.Misses, cache.Flushes), Is.EqualTo((2L, 5L, 1L)));
    }

    [Test]
    public void FlagsAndLockedCountFollowInsertsFlagChangesAndRemovalsWorkedByHand()
    {
        var set = new VmaSet();
        set.Insert(Make(0x10000, 0x11000) with { Flags = VmFlags.Read | VmFlags.Locked }); // C
        set.Insert(Make(0x1000, 0x2000));                                                  // A, before C
        set.Insert(Make(0x5000, 0x6000) with { Flags = VmFlags.Read | VmFlags.Exec });     // B, between them
        // Address order A, B, C: each index's flags are its own VMA's after the shifts, one of three locked.
        Assert.That(new[] { set.FlagsOf(0), set.FlagsOf(1), set.FlagsOf(2) },
            Is.EqualTo(new[] { VmFlags.Read, VmFlags.Read | VmFlags.Exec, VmFlags.Read | VmFlags.Locked }));
        Assert.That(set.LockedCount, Is.EqualTo(1));
        // FlagsAt: the containing VMA's (B's first and last byte), none in the gap between A and B or past C's end.
        Assert.That(new[] { set.FlagsAt(0x5000), set.FlagsAt(0x5fff), set.FlagsAt(0x2000), set.FlagsAt(0x11000) },
            Is.EqualTo(new[] { VmFlags.Read | VmFlags.Exec, VmFlags.Read | VmFlags.Exec, VmFlags.None, VmFlags.None }));
        set.SetFlags(0, VmFlags.Read | VmFlags.Locked); // mlock A: two
        Assert.That(set.LockedCount, Is.EqualTo(2));
        Assert.That(set[0].Flags, Is.EqualTo(set.FlagsOf(0)));
        set.SetFlags(0, VmFlags.Read | VmFlags.Locked | VmFlags.Write); // still locked: no change of count
        Assert.That(set.LockedCount, Is.EqualTo(2));
        set.RemoveRange(0, 2); // A (locked) and B go: C alone, now at index 0
        Assert.That((set.LockedCount, set.FlagsOf(0)), Is.EqualTo((1, VmFlags.Read | VmFlags.Locked)));
        set.SetFlags(0, VmFlags.Read); // munlock C
        Assert.That(set.LockedCount, Is.EqualTo(0));
        set.SetFlags(0, VmFlags.Locked);
        set.Clear();
        Assert.That(set.LockedCount, Is.EqualTo(0));
        Assert.That(() => set.FlagsOf(0), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}

public class VmaSetEntityTests
{
    private static Vma Make(ulong start, ulong end) => new() { Start = start, End = end, Flags = VmFlags.Read, FileId = -1, PgOff = start >> 12 };

    [Test]
    public void BoundChangesReachTheEntityAndTheKeysAndOverlapsAreRefused()
    {
        var world = new EcsMem.Ecs.World();
        var set = new VmaSet(world);
        set.Insert(Make(0x1000, 0x3000));
        set.Insert(Make(0x5000, 0x8000));
        uint seq = set.Seq;

        set.SetEnd(0, 0x4000);
        set.SetStart(1, 0x4000, 4);
        Assert.That(set.Seq, Is.EqualTo(seq + 2), "every bound change invalidates vmacaches");
        Assert.That((world.Get<Vma>(set.EntityAt(0)).End, set.EndOf(0)), Is.EqualTo((0x4000UL, 0x4000UL)));
        Assert.That((world.Get<Vma>(set.EntityAt(1)).Start, world.Get<Vma>(set.EntityAt(1)).PgOff, set.StartOf(1)), Is.EqualTo((0x4000UL, 4UL, 0x4000UL)));
        // 0x3fff now lies in VMA 0, 0x4000 in VMA 1: find_vma searches the moved keys.
        Assert.That((set.VmaLookup(0x3fff), set.VmaLookup(0x4000)), Is.EqualTo((0, 1)));

        Assert.That(() => set.SetEnd(0, 0x5000), Throws.InvalidOperationException, "would overlap VMA 1");
        Assert.That(() => set.SetStart(1, 0x3000, 3), Throws.InvalidOperationException, "would overlap VMA 0");
        Assert.That(() => set.SetEnd(0, 0x1000), Throws.InvalidOperationException, "would be empty");
        Assert.That(set.EndOf(0), Is.EqualTo(0x4000UL), "a refused change changes nothing");
    }

    [Test]
    public void RemovalDestroysTheEntitiesAndChangingTheSetWhileEnumeratingThrows()
    {
        var world = new EcsMem.Ecs.World();
        var set = new VmaSet(world);
        for (ulong i = 0; i < 4; i++)
        {
            set.Insert(Make(0x1000 + (i * 0x2000), 0x2000 + (i * 0x2000)));
        }

        var gone = set.Entities[1..3].ToArray();
        set.RemoveRange(1, 2);
        Assert.That(world.Size, Is.EqualTo(2));
        Assert.That(gone.Any(world.IsAlive), Is.False);
        Assert.That(() =>
        {
            foreach (ref readonly Vma v in set)
            {
                set.Touch();
            }
        }, Throws.InvalidOperationException);
        set.Clear();
        Assert.That(world.Size, Is.EqualTo(0));
    }
}

public class VmaCacheOwnershipTests
{
    [Test]
    public void ACacheMovedToAnotherSetFlushesEvenWithEqualSequenceNumbers()
    {
        // a: three VMAs and a touch -> Seq 4. b: three inserts and one removal -> Seq 4, one VMA left.
        var a = new VmaSet();
        var b = new VmaSet();
        for (ulong i = 0; i < 3; i++)
        {
            a.Insert(new Vma { Start = 0x1000 + (i * 0x2000), End = 0x2000 + (i * 0x2000), FileId = -1 });
            b.Insert(new Vma { Start = 0x1000 + (i * 0x2000), End = 0x2000 + (i * 0x2000), FileId = -1 });
        }

        a.Touch();
        b.RemoveRange(1, 2);
        Assert.That(a.Seq, Is.EqualTo(b.Seq));
        var cache = new VmaCache();
        Assert.That(a.FindVma(0x5000, cache), Is.EqualTo(2)); // cached: index 2
        // In b index 2 does not exist; the cache must flush rather than read it.
        Assert.That(b.FindVma(0x5000, cache), Is.EqualTo(-1));
        Assert.That((cache.Hits, cache.Flushes), Is.EqualTo((0L, 1L)));
    }
}
