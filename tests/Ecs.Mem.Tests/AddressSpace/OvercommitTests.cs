using EcsMem.Components;

namespace EcsMem.Tests.AddressSpace;

/// <summary>__vm_enough_memory and vm_commit_limit (mm/util.c), by hand: 1000 pages of RAM, 200 of swap.</summary>
public class OvercommitTests
{
    [Test]
    public void NeverAllowsWhileCommittedStaysBelowTheLimit()
    {
        // CommitLimit = 1000 × 50 / 100 + 200 = 700 pages. Without an mm there is no user reserve.
        var o = new Overcommit(1000, 200, 4000) { Policy = OvercommitPolicy.Never };
        Assert.That(o.CommitLimit, Is.EqualTo(700));
        Assert.That(o.VmEnoughMemory(699, null), Is.True);
        Assert.That(o.VmEnoughMemory(1, null), Is.False, "700 is not below 700");
        Assert.That(o.Committed, Is.EqualTo(699), "a refused charge is taken back");
        o.Unacct(99);
        Assert.That(o.VmEnoughMemory(99, null), Is.True);
        o.Kbytes = 400; // 100 pages + 200 swap
        Assert.That(o.CommitLimit, Is.EqualTo(300));
    }

    [Test]
    public void NeverHoldsBackTheUserReserveOfTheCaller()
    {
        // total_vm 3200 pages: min(3200 / 32, user_reserve_kbytes / 4) = min(100, 31) = 31 with the default reserve
        // min(4000 KiB free at boot / 32, 128 MiB) = 125 KiB = 31 pages; the limit is 700 - 31 = 669.
        var o = new Overcommit(1000, 200, 4000) { Policy = OvercommitPolicy.Never };
        var mm = new Mm(1, PagingMode.X86_64, new FileTable());
        mm.Struct.TotalVm = 3200;
        Assert.That(o.VmEnoughMemory(668, mm), Is.True);
        Assert.That(o.VmEnoughMemory(1, mm), Is.False);
    }

    [Test]
    public void GuessRefusesOnlyOneRequestLargerThanRamPlusSwapAndAlwaysNothing()
    {
        var g = new Overcommit(1000, 200, 4000);
        Assert.That(g.VmEnoughMemory(1200, null), Is.True);
        Assert.That(g.VmEnoughMemory(1200, null), Is.True, "GUESS looks at the request, not at what is committed");
        Assert.That(g.VmEnoughMemory(1201, null), Is.False);
        var a = new Overcommit(1000, 200, 4000) { Policy = OvercommitPolicy.Always };
        Assert.That(a.VmEnoughMemory(1_000_000, null), Is.True);
        Assert.That(a.Committed, Is.EqualTo(1_000_000));
    }
}
