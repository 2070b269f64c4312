using EcsMem.Components;
using MremapFlags = EcsMem.Scenarios.MremapFlags;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// VM_ACCOUNT as mm/mmap.c, mm/mprotect.c, mm/mremap.c, kernel/fork.c and mm/shmem.c charge it, Committed_AS
/// followed by hand through a sequence of calls (4 KiB pages; the machine: 1000 pages of RAM, 200 of swap, 4000 KiB
/// free at boot, so both reserves are min(4000 / 32, cap) = 125 KiB = 31 pages).
/// </summary>
public class CommitAccountingTests
{
    private const MapFlags AnonPrivate = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed;
    private const MapFlags AnonShared = MapFlags.Shared | MapFlags.Anonymous | MapFlags.Fixed;
    private static readonly Prot Rw = Prot.Read | Prot.Write;
    private const ulong P = 4096;

    private static (Overcommit, Mm) Machine(OvercommitPolicy policy = OvercommitPolicy.Guess)
    {
        var o = new Overcommit(1000, 200, 4000) { Policy = policy };
        var mm = new Mm(1, PagingMode.X86_64, new FileTable()) { Commit = o };
        return (o, mm);
    }

    [Test]
    public void CommittedFollowsMmapMprotectForkMunmapBrkAndExit()
    {
        var (o, mm) = Machine();
        Assert.That(mm.DoMmap(0x1000_0000, 10 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x1000_0000L));
        Assert.That(o.Committed, Is.EqualTo(10), "private writable: charged");
        mm.DoMmap(0x2000_0000, 5 * P, Prot.Read, AnonPrivate, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(10), "read-only: not accountable");
        mm.DoMmap(0x3000_0000, 4 * P, Rw, AnonShared, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(14), "shared anonymous: the shmem object's size (shmem_acct_size)");
        mm.DoMmap(0x4000_0000, 8 * P, Rw, AnonPrivate | MapFlags.NoReserve, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(14), "MAP_NORESERVE under the heuristic: VM_NORESERVE, not charged");
        Assert.That(mm.DoMprotect(0x2000_0000, 5 * P, Rw), Is.Zero);
        Assert.That(o.Committed, Is.EqualTo(19), "mprotect making a private area writable charges it");

        Mm child = mm.DupMmap(2)!;
        Assert.That(o.Committed, Is.EqualTo(34), "fork charges the child's VM_ACCOUNT copies: 10 + 5 (not shmem, not noreserve)");
        Assert.That(child.DoMunmap(0x1000_0000, 3 * P), Is.Zero);
        Assert.That(o.Committed, Is.EqualTo(31));
        mm.DoMunmap(0x3000_0000, 4 * P);
        Assert.That(o.Committed, Is.EqualTo(31), "the child still maps the shmem object");
        child.ExitMmap();
        Assert.That(o.Committed, Is.EqualTo(15), "exit gives back 7 + 5, and the shmem object's 4 with its last mapping");

        // MAP_FIXED over accounted pages charges only what they did not hold (vms->nr_accounted moves over).
        mm.DoMmap(0x1000_0000, 4 * P, Rw, AnonPrivate, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(15));
        mm.DoMmap(0x1000_0000, 2 * P, Prot.Read, AnonPrivate, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(13), "a read-only mapping over them gives their charge back");

        mm.Struct.StartBrk = mm.Struct.Brk = 0x5000_0000;
        Assert.That(mm.DoBrk(0x5000_0000 + (3 * P)), Is.EqualTo(0x5000_0000 + (3 * P)));
        Assert.That(o.Committed, Is.EqualTo(16), "brk charges its growth");
        mm.DoBrk(0x5000_0000 + P);
        Assert.That(o.Committed, Is.EqualTo(14), "and the shrink gives it back");

        mm.ExitMmap();
        Assert.That(o.Committed, Is.Zero, "everything given back at exit");
    }

    [Test]
    public void MprotectReadOnlyGivesTheChargeBackOnlyWithoutAnAnonVma()
    {
        var (o, mm) = Machine();
        bool anonVma = false;
        mm.AnonVmaProbe = (_, _) => anonVma;
        mm.DoMmap(0x1000_0000, 10 * P, Rw, AnonPrivate, -1, 0);
        Assert.That(mm.DoMprotect(0x1000_0000, 4 * P, Prot.Read), Is.Zero);
        Assert.That(o.Committed, Is.EqualTo(6), "never faulted: VM_ACCOUNT dropped for the 4 pages");
        Assert.That(mm.Vmas[0].Flags & VmFlags.Account, Is.EqualTo(VmFlags.None));
        anonVma = true;
        Assert.That(mm.DoMprotect(0x1000_0000 + (4 * P), 6 * P, Prot.Read), Is.Zero);
        Assert.That(o.Committed, Is.EqualTo(6), "with an anon_vma the charge stays (Linux cannot tell which pages are used)");
        Assert.That(mm.DoMprotect(0x1000_0000, 10 * P, Rw), Is.Zero);
        Assert.That(o.Committed, Is.EqualTo(10), "writable again: only the 4 pages without VM_ACCOUNT are charged");
    }

    [Test]
    public void NeverRefusesAtTheExactBoundary()
    {
        // CommitLimit = 1000 × 50 / 100 + 200 = 700. The first mapping is charged while total_vm is 0: no user reserve.
        var (o, mm) = Machine(OvercommitPolicy.Never);
        Assert.That(mm.DoMmap(0x1000_0000, 640 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x1000_0000L));
        // Now total_vm = 640: the user reserve is min(640 / 32, 31) = 20, so Committed_AS must stay below 680.
        Assert.That(mm.DoMmap(0x2000_0000, 40 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM), "640 + 40 = 680 is not below 680");
        Assert.That(o.Committed, Is.EqualTo(640));
        Assert.That(mm.Vmas.Count, Is.EqualTo(1), "nothing mapped");
        Assert.That(mm.DoMmap(0x2000_0000, 39 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x2000_0000L));
        Assert.That(o.Committed, Is.EqualTo(679));
    }

    [Test]
    public void NeverHoldsTheAdminReserveBackFromAProcessWithoutCapSysAdmin()
    {
        // As above, less admin_reserve_kbytes = 125 KiB = 31 pages: Committed_AS must stay below 700 - 31 - 20 = 649.
        var (o, mm) = Machine(OvercommitPolicy.Never);
        mm.CapSysAdmin = false;
        mm.DoMmap(0x1000_0000, 640 * P, Rw, AnonPrivate, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(640), "640 < 700 - 31");
        Assert.That(mm.DoMmap(0x2000_0000, 9 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.DoMmap(0x2000_0000, 8 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x2000_0000L));
    }

    [Test]
    public void NeverIgnoresMapNoreserveAndRefusesForkMprotectBrkAndShmem()
    {
        var (o, mm) = Machine(OvercommitPolicy.Never);
        Assert.That(mm.DoMmap(0x1000_0000, 800 * P, Rw, AnonPrivate | MapFlags.NoReserve, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM),
            "MAP_NORESERVE is not honoured in mode 2");
        mm.DoMmap(0x1000_0000, 4 * P, Rw, AnonPrivate | MapFlags.NoReserve, -1, 0);
        Assert.That(mm.Vmas[0].Flags & (VmFlags.NoReserve | VmFlags.Account), Is.EqualTo(VmFlags.Account));
        mm.DoMunmap(0x1000_0000, 4 * P);

        mm.DoMmap(0x1000_0000, 400 * P, Rw, AnonPrivate, -1, 0);
        Assert.That(mm.DupMmap(2), Is.Null, "the child's 400 would make 800 of 700");
        Assert.That(o.Committed, Is.EqualTo(400), "a failed fork gives its charges back");

        mm.DoMmap(0x2000_0000, 400 * P, Prot.Read, AnonPrivate, -1, 0);
        Assert.That(o.Committed, Is.EqualTo(400));
        Assert.That(mm.DoMprotect(0x2000_0000, 400 * P, Rw), Is.EqualTo(-(long)Errno.ENOMEM));
        Assert.That(mm.Vmas[1].Flags & VmFlags.Write, Is.EqualTo(VmFlags.None), "nothing changed");
        Assert.That(mm.DoMmap(0x3000_0000, 400 * P, Rw, AnonShared, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM), "shmem_acct_size refuses too");

        mm.Struct.StartBrk = mm.Struct.Brk = 0x5000_0000;
        Assert.That(mm.DoBrk(0x5000_0000 + (400 * P)), Is.EqualTo(0x5000_0000UL), "a refused brk leaves the break");
        Assert.That(o.Committed, Is.EqualTo(400));
    }

    [Test]
    public void HeuristicRefusesOnlyOneMappingLargerThanRamPlusSwap()
    {
        var (o, mm) = Machine();
        Assert.That(mm.DoMmap(0x1000_0000, 1201 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(-(long)Errno.ENOMEM), "1201 > 1000 + 200");
        Assert.That(mm.DoMmap(0x1000_0000, 1200 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x1000_0000L));
        Assert.That(mm.DoMmap(0x2000_0000, 1200 * P, Rw, AnonPrivate, -1, 0), Is.EqualTo(0x2000_0000L), "the total is not checked");
        Assert.That(mm.DoMmap(0x3000_0000, 5000 * P, Rw, AnonPrivate | MapFlags.NoReserve, -1, 0), Is.EqualTo(0x3000_0000L));
        Assert.That(mm.DoMmap(0x4000_0000, 5000 * P, Prot.Read, AnonPrivate, -1, 0), Is.EqualTo(0x4000_0000L));
        Assert.That(mm.DoMprotect(0x4000_0000, 5000 * P, Rw), Is.EqualTo(-(long)Errno.ENOMEM), "mprotect's charge is one request too");
        Assert.That(o.Committed, Is.EqualTo(2400));
        o.Policy = OvercommitPolicy.Always;
        Assert.That(mm.DoMprotect(0x4000_0000, 5000 * P, Rw), Is.Zero, "mode 1 refuses nothing");
        Assert.That(o.Committed, Is.EqualTo(7400));
    }

    [Test]
    public void MremapGrowthIsChargedAndAMoveKeepsTheCharge()
    {
        var (o, mm) = Machine(OvercommitPolicy.Never);
        mm.DoMmap(0x1000_0000, 100 * P, Rw, AnonPrivate, -1, 0);
        Assert.That(mm.DoMremap(0x1000_0000, 100 * P, 200 * P, MremapFlags.None, 0, null, out _, out _), Is.EqualTo(0x1000_0000L));
        Assert.That(o.Committed, Is.EqualTo(200));
        Assert.That(mm.DoMremap(0x1000_0000, 200 * P, 900 * P, MremapFlags.None, 0, null, out _, out _), Is.EqualTo(-(long)Errno.ENOMEM));
        mm.DoMmap(0x1000_0000 + (200 * P), P, Prot.Read, AnonPrivate, -1, 0); // blocks growth in place
        Assert.That(mm.DoMremap(0x1000_0000, 200 * P, 300 * P, MremapFlags.MayMove, 0, null, out _, out _), Is.GreaterThan(0L));
        Assert.That(o.Committed, Is.EqualTo(300), "moved: the old 200 pages' charge goes with them, the growth is charged");
    }
}
