using EcsMem.Components;
using EcsMem.Ecs;
using static EcsMem.Tests.Kernel.KernelKit;
using DefaultScenario = EcsMem.Scenarios.DefaultScenario;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Page-table pages are entities of the kernel's World that own their entries (<see cref="PageTableEntries"/>)
/// and carry <see cref="PageTableFrame"/>; the page walk reads exactly what those components hold.
/// </summary>
public class PageTableEntityTests
{
    private static readonly QueryDescription TablePages = new QueryDescription().WithAll<PageTableFrame>();

    /// <summary>The PTE for <paramref name="va"/> read level by level from the entities' components only.</summary>
    private static ulong ReadThroughEntities(World world, MmState mm, ulong va)
    {
        var mode = mm.Tables.Mode;
        int page = mm.Tables.Root;
        for (int level = mode.Levels - 1; level >= 0; level--)
        {
            Entity e = mm.Tables.EntityOf(page);
            Assert.That(world.Get<PageTableFrame>(e).Level, Is.EqualTo(level));
            int index = (int)((va >> (Pte.PageShift + (level * mode.BitsPerLevel))) & (ulong)(mode.EntriesPerTable - 1));
            ulong entry = world.Get<PageTableEntries>(e)[index];
            if (level == 0)
                return entry;
            if ((entry & Pte.PresentBit) == 0)
                return 0;
            page = (int)(entry >> Pte.PageShift);
        }
        return 0;
    }

    [Test]
    public void MidwayThroughTheDefaultScenarioEveryPteReadsTheSameThroughTheWorld()
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load());
        var k = m.Kernel;
        RunUntil(m, () => m.CompletedAccesses() >= 300_000);
        int checkedPtes = 0;
        long charged = 0;
        foreach (MmState mm in k.Tasks.LiveMms)
        {
            charged += mm.TablePages.Count;
            if (mm.Mm.Struct.MmUsers <= 0)
                continue;
            foreach (Vma v in mm.Mm.Vmas)
            {
                for (ulong va = v.Start; va < v.End; va += Pte.PageSize)
                {
                    ulong walked = mm.Tables.Lookup(va);
                    if (walked == 0)
                        continue;
                    Assert.That(ReadThroughEntities(k.World, mm, va), Is.EqualTo(walked), $"mm {mm.Id} va 0x{va:x}");
                    checkedPtes++;
                }
            }
        }
        Assert.That(checkedPtes, Is.GreaterThan(1000), "precondition: a good number of PTEs were set");

        // In-use page-table entities by owner = the tables each mm charged a frame for.
        var perMm = new Dictionary<int, int>();
        foreach (Chunk c in k.World.GetQuery(TablePages))
            foreach (ref readonly PageTableFrame f in c.GetSpan<PageTableFrame>())
                if (f.InUse)
                    perMm[f.MmId] = perMm.GetValueOrDefault(f.MmId) + 1;
        foreach (MmState mm in k.Tasks.LiveMms)
            Assert.That(perMm.GetValueOrDefault(mm.Id), Is.EqualTo(mm.TablePages.Count), $"mm {mm.Id}");
        Assert.That(k.PageTables.InUse, Is.EqualTo(charged));
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }

    [Test]
    public void ExitLeavesNoPageTableEntityInUse()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 2), 0, W(Base), W(Base + Page));
        var q = Add(m, "q", Anon(Base, 1), 50_000_000, W(Base));
        var k = m.Kernel;
        // Before the run each mm has only its root (pgd); p's first write adds its PUD, PMD and PTE tables
        // (q starts much later): 2 + 3.
        Assert.That(k.PageTables.InUse, Is.EqualTo(2));
        RunUntil(m, () => Stats(m, p).Accesses >= 1);
        Assert.That(k.PageTables.InUse, Is.EqualTo(5));
        Entity qRoot = Mm(m, q).Tables.EntityOf(Mm(m, q).Tables.Root);

        m.Run();
        Assert.That((Proc(m, p).State, Proc(m, q).State), Is.EqualTo((ProcessState.Exited, ProcessState.Exited)));
        Assert.That(k.PageTables.InUse, Is.Zero);
        int inUse = 0;
        foreach (Chunk c in k.World.GetQuery(TablePages))
            foreach (ref readonly PageTableFrame f in c.GetSpan<PageTableFrame>())
                if (f.InUse)
                    inUse++;
        Assert.That(inUse, Is.Zero);
        // The row entity outlives the table (rows never move): it is marked free, like a free frame.
        Assert.That(k.World.IsAlive(qRoot), Is.True);
        Assert.That(k.World.Get<PageTableFrame>(qRoot), Is.EqualTo(PageTableFrame.Free));
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }

    [Test]
    public void TheCheckerReportsAPageTableEntityThatLiesAboutItsTable()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 1), 0, W(Base));
        var k = m.Kernel;
        MmState mm = Mm(m, p);
        Entity root = mm.Tables.EntityOf(mm.Tables.Root);
        ref PageTableFrame f = ref k.World.Get<PageTableFrame>(root);
        int pfn = f.Pfn;
        f.Level = 0;
        Assert.That(new InvariantChecker(k).Check(), Is.EqualTo(new[]
        {
            $"mm {mm.Id}: page table {mm.Tables.Root} (level 3, pfn {pfn}) but its entity says mm {mm.Id} page {mm.Tables.Root} level 0 pfn {pfn} in use True",
        }));
        f.Level = 3;
        f.InUse = false;
        Assert.That(new InvariantChecker(k).Check(), Is.EqualTo(new[]
        {
            $"mm {mm.Id}: page table {mm.Tables.Root} (level 3, pfn {pfn}) but its entity says mm {mm.Id} page {mm.Tables.Root} level 3 pfn {pfn} in use False",
            "page tables: 0 page-table entities in use but 1 tables charged",
        }));
    }
}
