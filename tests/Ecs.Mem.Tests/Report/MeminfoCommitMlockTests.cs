using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Report;

/// <summary>
/// /proc/meminfo's Unevictable, Mlocked, CommitLimit and Committed_AS (and vmstat's nr_mlock, nr_unevictable) on a
/// machine whose mappings are counted by hand.
/// </summary>
public class MeminfoCommitMlockTests
{
    [Test]
    public void MlockedPagesLeaveTheLruListsAndCommittedAsCountsTheAccountableMappings()
    {
        // 1024 pages of RAM, 256 of swap of which 255 usable (total_swap_pages leaves the header page out, as SwapTotal
        // does), ratio 50: CommitLimit = 512 + 255 = 767 pages = 3068 kB.
        var opts = Options() with { OvercommitMemory = 2 };
        using var m = new SimMachine(opts);
        var acc = new List<MemoryAccess>();
        for (ulong i = 0; i < 6; i++) acc.Add(W(Base + (i * Page)));                 // 6 pages of the locked area
        for (ulong i = 0; i < 10; i++) acc.Add(W(Base + 0x10_0000 + (i * Page)));    // 10 of the plain one
        acc.Add(R(Base + 0x20_0000));                                                  // the zero page: not counted
        Entity p = Add(m, "p", mm =>
        {
            Mmap(mm, Base, 8, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Locked);
            Mmap(mm, Base + 0x10_0000, 16, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Base + 0x20_0000, 32, Prot.Read, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Base + 0x30_0000, 4, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Anonymous);
        }, 0, acc.ToArray());
        RunUntilAccesses(m, p, acc.Count);

        MemoryGauges g = MemoryGauges.Read(m.Kernel);
        // The locked area was not populated (no mm_populate in a test layout): the 6 pages written are mlocked.
        Assert.That(g.Mlocked, Is.EqualTo(6));
        Assert.That(g.Unevictable, Is.EqualTo(6));
        Assert.That(g.ActiveAnon + g.InactiveAnon, Is.EqualTo(10), "the mlocked pages are on neither anon list");
        Assert.That(g.CommitLimit, Is.EqualTo(767));
        Assert.That(g.CommittedAs, Is.EqualTo(8 + 16 + 4), "the two private writable areas and the shmem object; not the read-only one");
        var meminfo = MemInfo.Build(g).ToDictionary(l => l.Name, l => l.Value);
        Assert.That((meminfo["Unevictable"], meminfo["Mlocked"], meminfo["CommitLimit"], meminfo["Committed_AS"]), Is.EqualTo((24L, 24L, 3068L, 112L)));
        var names = MemInfo.Build(g).Select(l => l.Name).ToList();
        Assert.That(names.IndexOf("Unevictable"), Is.EqualTo(names.IndexOf("Inactive(file)") + 1), "Linux's order");
        Assert.That(names.IndexOf("Mlocked"), Is.EqualTo(names.IndexOf("Unevictable") + 1));
        Assert.That(names.IndexOf("CommitLimit"), Is.EqualTo(names.IndexOf("PageTables") + 1));
        Assert.That(names.IndexOf("Committed_AS"), Is.EqualTo(names.IndexOf("CommitLimit") + 1));
        var vmstat = VmStat.Gauges(g).ToDictionary(l => l.Name, l => l.Value);
        Assert.That((vmstat["nr_mlock"], vmstat["nr_unevictable"]), Is.EqualTo((6L, 6L)));
    }
}
