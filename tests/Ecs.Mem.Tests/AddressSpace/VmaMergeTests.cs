using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// VMA merging as Linux 6.x does it, checked with C programs (KernelPrograms/heap.c, heap2.c, merge.c) printing
/// /proc/self/maps after every step on Linux 6.18.44 x86-64, 2026-12-05. Offsets are relative to the program's
/// own addresses (ASLR was on); the shape of each step's maps is quoted at each test.
/// </summary>
public class VmaMergeTests
{
    private const MapFlags AnonPrivate = MapFlags.Private | MapFlags.Anonymous;
    private static readonly Prot Rw = Prot.Read | Prot.Write;
    private const ulong StartBrk = 0x55f3_8671_1000;

    private static Mm NewMm()
    {
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        mm.Struct.StartBrk = mm.Struct.Brk = StartBrk;
        return mm;
    }

    private static (ulong, ulong, VmaKind)[] Maps(Mm mm)
    {
        var l = new List<(ulong, ulong, VmaKind)>();
        foreach (ref readonly Vma v in mm.Vmas)
            l.Add((v.Start, v.End, v.Kind));
        return l.ToArray();
    }

    [Test]
    public void AnonymousMmapAtTheBreakMergesIntoHeap()
    {
        // heap.c: sbrk(8192) → "55f386711000-55f386713000 rw-p [heap]"; mmap(brk end, 16384, MAP_FIXED) →
        // "55f386711000-55f386717000 rw-p [heap]"; mmap(hint = its end, 8192) → "55f386711000-55f386719000 [heap]".
        // heap2.c: the same with the heap never touched gives the same single [heap] VMA.
        Mm mm = NewMm();
        Assert.That(mm.DoBrk(StartBrk + 0x2000), Is.EqualTo(StartBrk + 0x2000));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (StartBrk, StartBrk + 0x2000, VmaKind.Heap) }));
        Assert.That(mm.DoMmap(StartBrk + 0x2000, 0x4000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo((long)(StartBrk + 0x2000)));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (StartBrk, StartBrk + 0x6000, VmaKind.Heap) }));
        Assert.That(mm.DoMmap(StartBrk + 0x6000, 0x2000, Rw, AnonPrivate, -1, 0), Is.EqualTo((long)(StartBrk + 0x6000)));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (StartBrk, StartBrk + 0x8000, VmaKind.Heap) }));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(1));
        Assert.That(mm.HasMergeableNeighbours(out _), Is.False);
    }

    [Test]
    public void BrkDoesNotMergeWithTheAnonymousAreaBelowStartBrk()
    {
        // bss.c under setarch -R (ASLR off, so the break starts right after the 1 MiB anonymous bss):
        // "555555559000-555555669000 rw-p" then "555555669000-555555679000 rw-p [heap]": adjacent, same flags, two
        // VMAs, because do_brk_flags only extends a VMA inside the brk area and never merges a new one.
        Mm mm = NewMm();
        Assert.That(mm.DoMmap(StartBrk - 0x110000, 0x110000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo((long)(StartBrk - 0x110000)));
        Assert.That(mm.DoBrk(StartBrk + 0x10000), Is.EqualTo(StartBrk + 0x10000));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (StartBrk - 0x110000, StartBrk, VmaKind.Anonymous), (StartBrk, StartBrk + 0x10000, VmaKind.Heap) }));
        Assert.That(mm.DoBrk(StartBrk + 0x20000), Is.EqualTo(StartBrk + 0x20000), "the heap VMA itself grows");
        Assert.That(Maps(mm)[1], Is.EqualTo((StartBrk, StartBrk + 0x20000, VmaKind.Heap)));
    }

    [Test]
    public void AdjacentAnonymousMapsAndMprotectSplitThenRemerge()
    {
        // merge.c (a = 64 free pages): two adjacent 16-page anon mmaps → one VMA a..a+32p; after touching both,
        // a third adjacent one → a..a+48p; mprotect(a+8p, 4p, PROT_READ) → three VMAs a..+8p rw, +8..+12p r--,
        // +12..+48p rw; back to rw → one VMA again; a fourth read-only → separate r-- VMA; made rw → a..a+64p.
        Mm mm = NewMm();
        const ulong a = 0x7f33_87a1_c000;
        const ulong p = 0x1000;
        mm.DoMmap(a, 16 * p, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        mm.DoMmap(a + (16 * p), 16 * p, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(Maps(mm), Is.EqualTo(new[] { (a, a + (32 * p), VmaKind.Anonymous) }));
        mm.DoMmap(a + (32 * p), 16 * p, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(Maps(mm), Is.EqualTo(new[] { (a, a + (48 * p), VmaKind.Anonymous) }));
        Assert.That(mm.DoMprotect(a + (8 * p), 4 * p, Prot.Read), Is.EqualTo(0));
        Assert.That(Maps(mm).Select(x => (x.Item1, x.Item2)).ToArray(), Is.EqualTo(new[] { (a, a + (8 * p)), (a + (8 * p), a + (12 * p)), (a + (12 * p), a + (48 * p)) }));
        Assert.That(mm.DoMprotect(a + (8 * p), 4 * p, Rw), Is.EqualTo(0));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (a, a + (48 * p), VmaKind.Anonymous) }));
        mm.DoMmap(a + (48 * p), 16 * p, Prot.Read, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(Maps(mm).Length, Is.EqualTo(2));
        Assert.That(mm.DoMprotect(a + (48 * p), 16 * p, Rw), Is.EqualTo(0));
        Assert.That(Maps(mm), Is.EqualTo(new[] { (a, a + (64 * p), VmaKind.Anonymous) }));
    }
}
