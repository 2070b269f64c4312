using EcsMem.Ecs;
using EcsMem.Systems.Caches;
using EcsMem.Traces;

namespace EcsMem.Tests.Caches;

public class CacheHierarchyTests
{
    private static CacheGeometry G(long size, int ways, int line) => CacheGeometry.Create(size, ways, line, "test", 0, "c");

    // 16-byte lines everywhere. L1i: 1 line. L1d and L2: one set of 4 ways. L3: one set of 2 ways,
    // smaller than L1d so inclusion has to evict lines the upper levels still hold.
    private static CacheHierarchy<LruReplacement> Tiny(InclusionPolicy inclusion) =>
        new(new World(), new CacheHierarchyConfig(G(16, 1, 16), G(64, 4, 16), G(64, 4, 16), G(32, 2, 16), inclusion), default);

    private static MemoryAccess Load(ulong a, ushort size = 4) => new(a, 0, size, AccessKind.Load);
    private static MemoryAccess Store(ulong a, ushort size = 4) => new(a, 0, size, AccessKind.Store);

    [Test]
    public void InclusiveL3EvictionBackInvalidatesUpperCopies()
    {
        var h = Tiny(InclusionPolicy.Inclusive);
        // Lines A=0x00, B=0x10, C=0x20 (all in the single set of each level).
        //   store A: misses everywhere -> L3 {A} L2 {A} L1d {A*}
        //   load B:  misses everywhere -> L3 {A,B} L2 {A,B} L1d {A*,B}
        //   load C:  misses; L3 is full and evicts its LRU line A -> A is removed from L2 and L1d
        //            (2 back-invalidations; L1d's copy was dirty -> 1 write-back, 1 memory write)
        //   load A:  misses in L1d again (its 4th miss) and makes L3 evict B in turn.
        h.Run([Store(0x00), Load(0x10), Load(0x20)]);
        Assert.That(h.L1d.Counters.BackInvalidations, Is.EqualTo(1));
        Assert.That(h.L2.Counters.BackInvalidations, Is.EqualTo(1));
        Assert.That(h.L1i.Counters.BackInvalidations, Is.EqualTo(0));
        Assert.That(h.L1d.Counters.WriteBacks, Is.EqualTo(1));
        Assert.That(h.MemoryWrites, Is.EqualTo(1));
        Assert.That(h.L1d.Contains(0), Is.False);
        h.Run([Load(0x00)]);
        Assert.That(h.L1d.Counters.ReadMisses + h.L1d.Counters.WriteMisses, Is.EqualTo(4));
        Assert.That(h.MemoryReads, Is.EqualTo(4));
        // L3 = {C, A} now, and B was back-invalidated from L1d and L2 as well.
        Assert.That(h.L1d.Contains(1), Is.False);
        Assert.That(h.L1d.Counters.BackInvalidations, Is.EqualTo(2));
    }

    [Test]
    public void NonInclusiveL3EvictionLeavesUpperCopiesAlone()
    {
        var h = Tiny(InclusionPolicy.NonInclusive);
        // Same accesses: L3 still evicts A when C arrives, but L1d keeps A (dirty) and the reload hits.
        h.Run([Store(0x00), Load(0x10), Load(0x20), Load(0x00)]);
        Assert.That(h.L1d.Counters.BackInvalidations + h.L2.Counters.BackInvalidations, Is.EqualTo(0));
        Assert.That(h.L1d.Counters.Misses, Is.EqualTo(3));
        Assert.That(h.L1d.Counters.Hits, Is.EqualTo(1));
        Assert.That(h.L1d.IsDirty(0), Is.True);
        Assert.That(h.MemoryWrites, Is.EqualTo(0));
        Assert.That(h.L3.Contains(0), Is.False);
    }

    [Test]
    public void StraddlingAccessTouchesBothLines()
    {
        var h = Tiny(InclusionPolicy.Inclusive);
        // 8 bytes at 0x0C cover 0x0C..0x13: lines 0 and 1 -> two L1d accesses, both misses.
        h.Run([Load(0x0C, 8)]);
        Assert.That((h.L1d.Counters.ReadAccesses, h.L1d.Counters.ReadMisses), Is.EqualTo((2L, 2L)));
        // 4 bytes at 0x10 is inside line 1: one access, a hit.
        h.Run([Load(0x10, 4)]);
        Assert.That((h.L1d.Counters.ReadAccesses, h.L1d.Counters.ReadMisses), Is.EqualTo((3L, 2L)));
        // An instruction of 3 bytes at 0x0F spans lines 0 and 1 of L1i (1 way, so the 2nd evicts the 1st).
        h.Run([new MemoryAccess(0x0F, 0, 3, AccessKind.Instr)]);
        Assert.That((h.L1i.Counters.ReadAccesses, h.L1i.Counters.ReadMisses), Is.EqualTo((2L, 2L)));
    }

    [Test]
    public void DirtyL1VictimIsWrittenBackIntoL2()
    {
        // L1d 2 ways x 1 set, L2 and L3 large enough to hold everything.
        var h = new CacheHierarchy<LruReplacement>(new World(), new CacheHierarchyConfig(
            G(16, 1, 16), G(32, 2, 16), G(256, 4, 16), G(1024, 8, 16), InclusionPolicy.Inclusive), default);
        // store A, load B, load C: C evicts A (LRU) from L1d; A is dirty -> L1d write-back, L2's A becomes dirty.
        h.Run([Store(0x00), Load(0x10), Load(0x20)]);
        Assert.That(h.L1d.Counters.WriteBacks, Is.EqualTo(1));
        Assert.That(h.L2.IsDirty(0), Is.True);
        Assert.That(h.L2.Counters.WriteBacks, Is.EqualTo(0));
        Assert.That(h.MemoryWrites, Is.EqualTo(0));
        // A modify is a read and then a write of the same line: 2 accesses, the write hits.
        h.Run([new MemoryAccess(0x30, 0, 4, AccessKind.Modify)]);
        Assert.That((h.L1d.Counters.WriteAccesses, h.L1d.Counters.WriteMisses), Is.EqualTo((2L, 1L)));
        Assert.That(h.L1d.IsDirty(3), Is.True);
    }

    [Test]
    public void CountersAddUpOnARandomTrace()
    {
        // Conservation checks that hold by definition: L2 reads = L1 misses (every L1 miss fetches
        // from L2), L3 reads = L2 read misses, memory reads = L3 misses.
        var h = new CacheHierarchy<LruReplacement>(new World(), CacheHierarchyConfig.Seed, default);
        var rng = new SplitMix64(3);
        var batch = new MemoryAccess[1 << 16];
        for (int i = 0; i < batch.Length; i++)
        {
            ulong r = rng.Next();
            batch[i] = new MemoryAccess((r >> 8) % (8 << 20), 0, (ushort)(1 + r % 8), (AccessKind)(r >> 62));
        }
        h.Run(batch);
        long l1Misses = h.L1i.Counters.Misses + h.L1d.Counters.Misses;
        Assert.That(h.L2.Counters.ReadAccesses, Is.EqualTo(l1Misses));
        Assert.That(h.L3.Counters.ReadAccesses, Is.EqualTo(h.L2.Counters.ReadMisses));
        Assert.That(h.MemoryReads, Is.EqualTo(h.L3.Counters.Misses));
        Assert.That(h.L2.Counters.WriteAccesses + h.L3.Counters.WriteAccesses, Is.EqualTo(0));
    }
}
