using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Reliability;

/// <summary>
/// Minimal reproductions of what the model-based test found about PROT_NONE: mprotect(PROT_NONE) keeps the
/// page's frame under a non-present _PAGE_PROTNONE entry (as Linux does), so munmap/exit must release that frame
/// and fork must copy the entry, exactly as for a present PTE.
/// </summary>
public class ProtNoneRegressionTests
{
    private const ulong Region = 0x1000_0000;

    /// <summary>One process: writes the first page of a 4-page rw- mapping, then mprotect(PROT_NONE) on the
    /// mapping, then <paramref name="then"/> after the same access.</summary>
    private static (SimMachine M, Entity P) Build(params AddressSpaceOpKind[] then)
    {
        var m = new SimMachine(new KernelOptions { RamBytes = 1 << 20, SwapBytes = 0 });
        MemoryAccess[] trace = [new(Region, 0, 8, AccessKind.Store), new(0x2000_0000, 0, 8, AccessKind.Load)];
        Entity p = m.AddProcess("p", mm =>
        {
            mm.Mm.DoMmap(Region, 4 * 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0);
            mm.Mm.DoMmap(0x2000_0000, 4096, Prot.Read, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0);
        }, new Workload(new ArrayTraceReader("p", trace)));
        m.AddressSpace.ChildCreated = (_, _) => { };
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Mprotect, p) { Addr = Region, Len = 4 * 4096, Prot = Prot.None });
        foreach (var kind in then)
        {
            m.ScheduleAfterAccesses(1, kind == AddressSpaceOpKind.Fork
                ? new AddressSpaceOp(kind, p) { ChildName = "c", ChildWorkload = _ => new Workload(new ArrayTraceReader("c", [])) }
                : new AddressSpaceOp(kind, p) { Addr = Region, Len = 4 * 4096 });
        }
        return (m, p);
    }

    [Test]
    public void ProtNonePageStaysResidentAndCounted()
    {
        var (m, p) = Build();
        using (m)
        {
            var mm = m.Kernel.Tasks.MmOf(p);
            // Run (checked) until mprotect has applied, and stop before the process exits.
            m.RunChecked(stop: () => (mm.Tables.Lookup(Region) & Pte.ProtNoneBit) != 0);
            var pte = new Pte(mm.Tables.Lookup(Region));
            Assert.That(pte.Present, Is.False);
            Assert.That(mm.Rss, Is.EqualTo(1UL), "a PROT_NONE page is still resident (VmRSS counts it in Linux)");
            Assert.That(m.Kernel.Zone.Frames[(int)pte.Pfn].MapCount, Is.EqualTo(1));
        }
    }

    [Test]
    public void MunmapOfAProtNonePageFreesItsFrame()
    {
        var (m, _) = Build(AddressSpaceOpKind.Munmap);
        using (m)
        {
            // Checked after every tick: the frame written by the store must go back to the allocator at munmap.
            m.RunChecked();
            // exit does not drain the CPUs' lru_add batches (Linux 6.18): their last folios stay allocated until lru_add_drain_all.
            m.Kernel.LruAddDrainAll();
            long free = m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages;
            // Everything the process had is gone after exit: only the zero page stays allocated.
            Assert.That(free, Is.EqualTo(m.Kernel.Zone.Buddy.ManagedPages - 1));
        }
    }

    [Test]
    public void ExitReleasesAProtNonePage()
    {
        var (m, _) = Build();
        using (m)
        {
            m.RunChecked();
            // exit does not drain the CPUs' lru_add batches (Linux 6.18): their last folios stay allocated until lru_add_drain_all.
            m.Kernel.LruAddDrainAll();
            Assert.That(m.Kernel.Zone.Buddy.NrFreePages + m.Kernel.Zone.PcpPages, Is.EqualTo(m.Kernel.Zone.Buddy.ManagedPages - 1), "only the zero page stays allocated");
        }
    }

    [Test]
    public void ForkCopiesAProtNonePte()
    {
        var (m, p) = Build(AddressSpaceOpKind.Fork);
        using (m)
        {
            ulong parentPte = 0, childPte = 0;
            m.RunChecked(stop: () =>
            {
                // Stop right after the fork, while both processes still hold their address spaces.
                if (m.Kernel.Tasks.Processes.Count < 2)
                    return false;
                parentPte = m.Kernel.Tasks.MmOf(p).Tables.Lookup(Region);
                childPte = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[1]).Tables.Lookup(Region);
                return true;
            });
            Assert.That(parentPte & Pte.ProtNoneBit, Is.Not.Zero, "the parent's page is PROT_NONE and resident");
            Assert.That(new Pte(childPte).Pfn, Is.EqualTo(new Pte(parentPte).Pfn), "the child maps the same frame (copy-on-write)");
            Assert.That(childPte & Pte.ProtNoneBit, Is.Not.Zero);
        }
    }
}
