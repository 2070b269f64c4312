using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

public class MmOperationTests
{
    private const MapFlags AnonPrivate = MapFlags.Private | MapFlags.Anonymous;
    private static readonly Prot Rw = Prot.Read | Prot.Write;

    private static Mm NewMm() => new(1, PagingMode.X86_64, new FileTable());

    [Test]
    public void MmapBaseIsTaskSizeLessTheClampedGap()
    {
        // gap = 8 MiB rlimit + 1 MiB guard = 9 MiB, clamped up to 128 MiB = 0x8000000.
        Assert.That(NewMm().Struct.MmapBase, Is.EqualTo(0x7FFF_FFFF_F000UL - 0x800_0000UL));
        Assert.That(Mm.ComputeMmapBase(0xC000_0000, 8 << 20, 1 << 20, 0), Is.EqualTo(0xB800_0000UL));
        // An unlimited-ish rlimit is clamped to 5/6 of TASK_SIZE: 0xC0000000/6*5 = 0xA0000000.
        Assert.That(Mm.ComputeMmapBase(0xC000_0000, 0xF000_0000, 1 << 20, 0), Is.EqualTo(0x2000_0000UL));
    }

    [Test]
    public void NonFixedMmapIsPlacedTopDownBelowMmapBaseAndMerges()
    {
        Mm mm = NewMm();
        // mmap_base = 0x7ffff7fff000: 3 pages go just below it.
        Assert.That(mm.DoMmap(0, 0x3000, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x7FFF_F7FF_C000L));
        // The next page goes right below and merges (same flags, anon pgoff contiguous).
        Assert.That(mm.DoMmap(0, 0x1000, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x7FFF_F7FF_B000L));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(1));
        Assert.That(mm.Vmas[0].Start, Is.EqualTo(0x7FFF_F7FF_B000UL));
        Assert.That(mm.Vmas[0].End, Is.EqualTo(0x7FFF_F7FF_F000UL));
        // Read-only memory below it cannot merge: a second VMA.
        Assert.That(mm.DoMmap(0, 0x2000, Prot.Read, AnonPrivate, -1, 0), Is.EqualTo(0x7FFF_F7FF_9000L));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(2));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(6UL));
        // A free hint is honoured.
        Assert.That(mm.DoMmap(0x5_0000_0000, 0x1000, Prot.Read, AnonPrivate, -1, 0), Is.EqualTo(0x5_0000_0000L));
    }

    [Test]
    public void TopDownPlacementKeepsTheStackGuardGap()
    {
        Mm mm = NewMm();
        // A one-page growsdown area at 0x7ffff7ff0000 leaves 0xe000 bytes free up to mmap_base.
        Assert.That(mm.DoMmap(0x7FFF_F7FF_0000, 0x1000, Rw, AnonPrivate | MapFlags.Fixed | MapFlags.GrowsDown, -1, 0), Is.EqualTo(0x7FFF_F7FF_0000L));
        // 64 KiB does not fit above it, and below it the gap ends at start - 1 MiB = 0x7ffff7ef0000,
        // so the area is [0x7ffff7ee0000, 0x7ffff7ef0000).
        Assert.That(mm.DoMmap(0, 0x10000, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x7FFF_F7EE_0000L));
        // A small one still fits above the stack.
        Assert.That(mm.DoMmap(0, 0x1000, Prot.Read, AnonPrivate, -1, 0), Is.EqualTo(0x7FFF_F7FF_E000L));
    }

    [Test]
    public void MmapRejectsBadArguments()
    {
        Mm mm = NewMm();
        Assert.That(mm.DoMmap(0x10000, 0, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo(-(long)Errno.EINVAL));
        Assert.That(mm.DoMmap(0x10001, 0x1000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo(-(long)Errno.EINVAL));
        Assert.That(mm.DoMmap(0x10000, 0x1000, Rw, MapFlags.Anonymous | MapFlags.Fixed, -1, 0), Is.EqualTo(-(long)Errno.EINVAL));
        Assert.That(mm.DoMmap(0x1000, 0x1000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo(-(long)Errno.EPERM));
        Assert.That(mm.DoMmap(0x7FFF_FFFF_F000, 0x1000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.DoMmap(0x10000, 0x1000, Rw, MapFlags.Private, 5, 0), Is.EqualTo(-(long)Errno.EBADF));
        Assert.That(mm.DoMmap(0x10000, 0x2000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0), Is.EqualTo(0x10000L));
        Assert.That(mm.DoMmap(0x11000, 0x1000, Rw, AnonPrivate | MapFlags.FixedNoReplace, -1, 0), Is.EqualTo(-(long)Errno.EEXIST));
    }

    [Test]
    public void MapFixedReplacesAndReportsTheUnmappedPart()
    {
        Mm mm = NewMm();
        mm.DoMmap(0x1000_0000, 0x4000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        var changes = new List<VmaChange>();
        mm.DoMmap(0x1000_1000, 0x1000, Prot.Read, AnonPrivate | MapFlags.Fixed, -1, 0, changes);
        Assert.That(changes, Has.Count.EqualTo(2));
        Assert.That(changes[0], Is.EqualTo(new VmaChange(VmaChangeKind.Unmapped, 0x1000_1000, 0x1000_2000, mm.Vmas[0].Flags, VmFlags.None)));
        Assert.That(changes[1].Kind, Is.EqualTo(VmaChangeKind.Mapped));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(3));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(4UL));
    }

    [Test]
    public void MunmapOfAMiddleHoleLeavesTwoVmas()
    {
        Mm mm = NewMm();
        mm.DoMmap(0x1000_0000, 0x10000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0); // 16 pages
        var changes = new List<VmaChange>();
        Assert.That(mm.DoMunmap(0x1000_4000, 0x2000, changes), Is.Zero);
        Assert.That(mm.Struct.MapCount, Is.EqualTo(2));
        Assert.That(mm.Vmas.Count, Is.EqualTo(2));
        Assert.That((mm.Vmas[0].Start, mm.Vmas[0].End), Is.EqualTo((0x1000_0000UL, 0x1000_4000UL)));
        Assert.That((mm.Vmas[1].Start, mm.Vmas[1].End), Is.EqualTo((0x1000_6000UL, 0x1001_0000UL)));
        // The upper piece keeps its anonymous pgoff = address >> 12.
        Assert.That(mm.Vmas[1].PgOff, Is.EqualTo(0x10006UL));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(14UL));
        Assert.That(changes, Is.EqualTo(new[] { new VmaChange(VmaChangeKind.Unmapped, 0x1000_4000, 0x1000_6000, mm.Vmas[0].Flags, VmFlags.None) }));

        // Unmapping across both pieces and the hole removes the inner parts only.
        Assert.That(mm.DoMunmap(0x1000_3000, 0x4000), Is.Zero);
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(12UL));
        Assert.That((mm.Vmas[0].End, mm.Vmas[1].Start), Is.EqualTo((0x1000_3000UL, 0x1000_7000UL)));
        Assert.That(mm.DoMunmap(0x1000_0001, 0x1000), Is.EqualTo(-(long)Errno.EINVAL));
    }

    [Test]
    public void MunmapFailsWhenAHoleWouldExceedMaxMapCount()
    {
        Mm mm = NewMm();
        mm.MaxMapCount = 1;
        mm.DoMmap(0x1000_0000, 0x3000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(mm.DoMunmap(0x1000_1000, 0x1000), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.Vmas.Count, Is.EqualTo(1));
        // mprotect of the middle needs two splits (split_vma checks the limit): refused too.
        Assert.That(mm.DoMprotect(0x1000_1000, 0x1000, Prot.Read), Is.EqualTo(-(long)Errno.ENOMEM));

        // At the limit with two VMAs, trimming the tail of one and the head of the other is fine: the
        // temporary splits are given back when the middle goes (Linux's __split_vma path).
        Mm two = NewMm();
        two.MaxMapCount = 2;
        two.DoMmap(0x1000_0000, 0x3000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        two.DoMmap(0x1000_3000, 0x3000, Prot.Read, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(two.DoMunmap(0x1000_2000, 0x2000), Is.Zero);
        Assert.That(two.Struct.MapCount, Is.EqualTo(2));
        Assert.That((two.Vmas[0].End, two.Vmas[1].Start), Is.EqualTo((0x1000_2000UL, 0x1000_4000UL)));
    }

    [Test]
    public void MprotectSplitsThenMergesBack()
    {
        Mm mm = NewMm();
        mm.DoMmap(0x1000_0000, 0x10000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        var changes = new List<VmaChange>();
        Assert.That(mm.DoMprotect(0x1000_4000, 0x2000, Prot.Read, changes), Is.Zero);
        Assert.That(mm.Struct.MapCount, Is.EqualTo(3));
        Assert.That(mm.Vmas[1].Flags & VmFlags.AccessMask, Is.EqualTo(VmFlags.Read));
        Assert.That((mm.Vmas[1].Start, mm.Vmas[1].End), Is.EqualTo((0x1000_4000UL, 0x1000_6000UL)));
        Assert.That(changes.Single().Kind, Is.EqualTo(VmaChangeKind.Protected));
        Assert.That(mm.Vmas[1].PageProt & Pte.RwBit, Is.Zero);

        Assert.That(mm.DoMprotect(0x1000_4000, 0x2000, Rw), Is.Zero);
        Assert.That(mm.Struct.MapCount, Is.EqualTo(1));
        Assert.That((mm.Vmas[0].Start, mm.Vmas[0].End), Is.EqualTo((0x1000_0000UL, 0x1001_0000UL)));

        // Protecting the tail merges it with a compatible next VMA instead of leaving three.
        mm.DoMprotect(0x1000_8000, 0x8000, Prot.Read);
        mm.DoMprotect(0x1000_6000, 0x2000, Prot.Read);
        Assert.That(mm.Struct.MapCount, Is.EqualTo(2));
        Assert.That(mm.Vmas[1].Start, Is.EqualTo(0x1000_6000UL));
    }

    [Test]
    public void MprotectNeedsMappedStartAndMayBits()
    {
        Mm mm = NewMm();
        mm.DoMmap(0x1000_0000, 0x2000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(mm.DoMprotect(0x0FFF_F000, 0x2000, Prot.Read), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.Vmas[0].Flags & VmFlags.AccessMask, Is.EqualTo(VmFlags.Read | VmFlags.Write), "nothing changed");
        // Running into the hole after the VMA: the mapped part changes, the call still fails (as Linux).
        Assert.That(mm.DoMprotect(0x1000_1000, 0x2000, Prot.Read), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.Vmas[1].Flags & VmFlags.AccessMask, Is.EqualTo(VmFlags.Read));
        mm.Vmas.SetFlags(0, mm.Vmas[0].Flags & ~VmFlags.MayExec);
        Assert.That(mm.DoMprotect(0x1000_0000, 0x1000, Prot.Read | Prot.Exec), Is.EqualTo(-(long)Errno.EACCES));
    }

    [Test]
    public void BrkGrowsShrinksAndRefusesLikeLinux()
    {
        Mm mm = NewMm();
        mm.Struct.StartBrk = mm.Struct.Brk = 0x60_1000;
        // Grow to an unaligned break: the heap VMA covers up to the next page boundary.
        Assert.That(mm.DoBrk(0x60_3345), Is.EqualTo(0x60_3345UL));
        Assert.That((mm.Vmas[0].Start, mm.Vmas[0].End, mm.Vmas[0].Kind), Is.EqualTo((0x60_1000UL, 0x60_4000UL, VmaKind.Heap)));
        Assert.That(mm.DoBrk(0x60_5000), Is.EqualTo(0x60_5000UL));
        Assert.That(mm.Vmas.Count, Is.EqualTo(1), "growth extends the same VMA");
        Assert.That(mm.Vmas[0].End, Is.EqualTo(0x60_5000UL));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(4UL));
        // Shrink: pages above PAGE_ALIGN(0x602010) = 0x603000 are unmapped.
        Assert.That(mm.DoBrk(0x60_2010), Is.EqualTo(0x60_2010UL));
        Assert.That(mm.Vmas[0].End, Is.EqualTo(0x60_3000UL));
        Assert.That(mm.Struct.TotalVm, Is.EqualTo(2UL));
        // Below start_brk: refused, the old break comes back.
        Assert.That(mm.DoBrk(0x60_0000), Is.EqualTo(0x60_2010UL));
        // A mapping at 0x700000: the heap may come up to one page below it, not closer.
        mm.DoMmap(0x70_0000, 0x1000, Prot.Read, AnonPrivate | MapFlags.Fixed, -1, 0);
        Assert.That(mm.DoBrk(0x6F_F800), Is.EqualTo(0x60_2010UL));
        Assert.That(mm.DoBrk(0x6F_F000), Is.EqualTo(0x6F_F000UL));
        Assert.That(mm.Struct.Brk, Is.EqualTo(0x6F_F000UL));
    }

    [Test]
    public void StackGrowsDownWithinRlimitAndGuardGap()
    {
        Mm mm = NewMm();
        const ulong top = 0x7FFF_FFFF_F000;
        mm.DoMmap(top - 0x21000, 0x21000, Rw, AnonPrivate | MapFlags.Fixed | MapFlags.GrowsDown, -1, 0);
        int idx = mm.FindExtendVma(top - 0x30000);
        Assert.That(idx, Is.EqualTo(0));
        Assert.That(mm.Vmas[0].Start, Is.EqualTo(top - 0x30000));
        Assert.That(mm.Struct.StackVm, Is.EqualTo(0x30UL));
        // 8 MiB rlimit: the stack may reach top - 8 MiB but not a page more.
        Assert.That(mm.ExpandDownwards(0, top - (8UL << 20)), Is.Zero);
        Assert.That(mm.ExpandDownwards(0, top - (8UL << 20) - 0x1000), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.FindExtendVma(top - (8UL << 20) - 0x1000), Is.EqualTo(-1));

        // A mapping below: growth must stay 256 pages (1 MiB) above its end.
        Mm mm2 = NewMm();
        mm2.DoMmap(0x7000_0000, 0x1000, Prot.Read, AnonPrivate | MapFlags.Fixed, -1, 0);
        mm2.DoMmap(0x7020_0000, 0x1000, Rw, AnonPrivate | MapFlags.Fixed | MapFlags.GrowsDown, -1, 0);
        Assert.That(mm2.ExpandDownwards(1, 0x7010_1000), Is.Zero);      // gap left: 0x100000 = 1 MiB
        Assert.That(mm2.ExpandDownwards(1, 0x7010_0000), Is.EqualTo(-(long)Errno.ENOMEM));
    }

    [Test]
    public void DupMmapCopiesAllButDontCopyAndDropsLocks()
    {
        Mm parent = NewMm();
        parent.DoMmap(0x1000_0000, 0x2000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        parent.DoMmap(0x2000_0000, 0x3000, Prot.Read, AnonPrivate | MapFlags.Fixed | MapFlags.Locked, -1, 0);
        parent.DoMmap(0x3000_0000, 0x4000, Rw, AnonPrivate | MapFlags.Fixed, -1, 0);
        parent.Vmas.SetFlags(2, parent.Vmas[2].Flags | VmFlags.DontCopy); // madvise(MADV_DONTFORK)
        parent.Struct.MmUsers = 3;
        Assert.That(parent.Struct.LockedVm, Is.EqualTo(3UL));

        var changes = new List<VmaChange>();
        Mm child = parent.DupMmap(2, changes)!;
        Assert.That(child.Vmas.Count, Is.EqualTo(2));
        Assert.That(child.Struct.MapCount, Is.EqualTo(2));
        Assert.That(child.Struct.TotalVm, Is.EqualTo(5UL)); // 2 + 3 pages; the 4 DONTCOPY pages stay behind
        Assert.That(child.Struct.LockedVm, Is.Zero);
        Assert.That(child.Vmas[1].Flags & VmFlags.Locked, Is.EqualTo(VmFlags.None));
        Assert.That(child.Vmas[0].MmId, Is.EqualTo(2));
        Assert.That((child.Struct.MmUsers, child.Struct.MmCount, child.Struct.Id), Is.EqualTo((1, 1, 2)));
        Assert.That(changes.Select(c => (c.Start, c.End)), Is.EqualTo(new[] { (0x1000_0000UL, 0x1000_2000UL), (0x2000_0000UL, 0x2000_3000UL) }));
        Assert.That(parent.Vmas.Count, Is.EqualTo(3), "parent untouched");

        var gone = new List<VmaChange>();
        child.ExitMmap(gone);
        Assert.That(child.Vmas.Count, Is.Zero);
        Assert.That((child.Struct.MapCount, child.Struct.TotalVm), Is.EqualTo((0, 0UL)));
        Assert.That(gone.All(c => c.Kind == VmaChangeKind.Unmapped) && gone.Count == 2, Is.True);
    }

    [Test]
    public void FileMappingsMergeOnlyWithContiguousOffsets()
    {
        var files = new FileTable();
        int lib = files.Intern("/usr/lib/libx.so", 0xfe, 0, 1234);
        var mm = new Mm(1, PagingMode.X86_64, files);
        mm.DoMmap(0x1000_0000, 0x2000, Prot.Read, MapFlags.Private | MapFlags.Fixed, lib, 0);
        // Same file, next offset (pgoff 2 after 2 pages): merges.
        mm.DoMmap(0x1000_2000, 0x1000, Prot.Read, MapFlags.Private | MapFlags.Fixed, lib, 2);
        Assert.That(mm.Vmas.Count, Is.EqualTo(1));
        // Same file, non-contiguous offset: stays separate.
        mm.DoMmap(0x1000_3000, 0x1000, Prot.Read, MapFlags.Private | MapFlags.Fixed, lib, 9);
        Assert.That(mm.Vmas.Count, Is.EqualTo(2));
        Assert.That(mm.HasMergeableNeighbours(out _), Is.False);
    }
}
