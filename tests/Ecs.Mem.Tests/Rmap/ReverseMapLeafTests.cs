using System.Runtime.CompilerServices;
using EcsMem.Components;
using EcsMem.Ecs;

namespace EcsMem.Tests.Rmap;

/// <summary>
/// The reverse map's remembered leaf table (<see cref="ReverseMap.LeafPte"/>): the entry it gives is the one the page
/// table's own walk finds, before and after it is remembered, and a node made again (mremap, migration) forgets it.
/// </summary>
public class ReverseMapLeafTests
{
    private const ulong A = 0x7f00_0000_0000; // first page of a 2 MiB-aligned region: its own leaf table
    private const ulong B = A + 0x20_0000 + 0x3000; // the next leaf table's fourth entry

    [Test]
    public void LeafPteIsTheWalkedEntryAndIsRemembered()
    {
        var store = new PageTableStore(new World(), PagingMode.X86_64);
        var mm1 = new PageTable(PagingMode.X86_64, store: store);
        var mm2 = new PageTable(PagingMode.X86_64, store: store);
        ulong pte = Pte.Make(5, Pte.PresentBit | Pte.RwBit | Pte.UserBit).Value;
        mm1.Set(A, pte);
        mm2.Set(B, pte);
        var rmap = new ReverseMap(16);
        rmap.Add(5, 1, A);
        rmap.Add(5, 2, B);
        var maps = new List<RmapMapping>();
        rmap.CopyTo(5, maps);
        // Newest first, as CopyTo's other overload gives them.
        Assert.That(maps.Select(m => (m.Mm, m.Va)), Is.EqualTo(new[] { (2, B), (1, A) }));

        ref ulong first = ref rmap.LeafPte(maps[1], mm1); // walked, then remembered
        Assert.That(Unsafe.AreSame(ref first, ref mm1.Walk(A, out _)), Is.True);
        ref ulong again = ref rmap.LeafPte(maps[1], mm1); // through the remembered table
        Assert.That(Unsafe.AreSame(ref again, ref mm1.Walk(A, out _)), Is.True);
        again &= ~Pte.RwBit;
        Assert.That(mm1.Lookup(A), Is.EqualTo(pte & ~Pte.RwBit));
        Assert.That(rmap.LeafPte(maps[0], mm2), Is.EqualTo(pte));
        Assert.That(rmap.LeafIsCurrent(maps[0], mm2) && rmap.LeafIsCurrent(maps[1], mm1), Is.True);
        // mm 1's remembered table is not where mm 2's walk ends for A (mm 2 has no table there).
        Assert.That(rmap.LeafIsCurrent(maps[1], mm2), Is.False);
        // The page-table rewrite's lookup: a mapping the chain holds, and two it does not.
        Assert.That(rmap.Find(5, 1, A), Is.EqualTo(maps[1].Node));
        Assert.That(rmap.Find(5, 1, B), Is.EqualTo(-1));
        Assert.That(rmap.Find(6, 2, B), Is.EqualTo(-1));
    }

    [Test]
    public void ANodeMadeAgainForgetsItsLeafTable()
    {
        var mm = new PageTable(PagingMode.X86_64);
        ulong pte = Pte.Make(9, Pte.PresentBit | Pte.UserBit).Value;
        mm.Set(A, pte);
        var rmap = new ReverseMap(16);
        rmap.Add(9, 1, A);
        var maps = new List<RmapMapping>();
        rmap.CopyTo(9, maps);
        Assert.That(rmap.LeafPte(maps[0], mm), Is.EqualTo(pte)); // remembers A's leaf table
        // mremap to B (another leaf table): the PTE moves, the node is removed and a node (the same one, from the free
        // list) added for B.
        mm.Walk(A, out _) = 0;
        mm.Set(B, pte);
        rmap.Remove(9, 1, A);
        rmap.Add(9, 1, B);
        rmap.CopyTo(9, maps);
        Assert.That(maps[0].Node, Is.EqualTo(0), "the freed node is reused");
        ref ulong moved = ref rmap.LeafPte(maps[0], mm);
        Assert.That(Unsafe.AreSame(ref moved, ref mm.Walk(B, out _)), Is.True);
        Assert.That(moved, Is.EqualTo(pte));
    }
}
