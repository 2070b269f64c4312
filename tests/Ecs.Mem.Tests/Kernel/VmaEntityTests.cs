using System.Text;
using EcsMem.Components;
using EcsMem.Ecs;
using DefaultScenario = EcsMem.Scenarios.DefaultScenario;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// VMAs are entities of the kernel's World carrying the <see cref="Vma"/> component: a query over them sees
/// every process's areas, each mm operation creates and destroys the entities it should, and exit leaves none.
/// </summary>
public class VmaEntityTests
{
    private static readonly QueryDescription AllVmas = new QueryDescription().WithAll<Vma>();

    /// <summary>Every Vma component in the World, read through a query only (no VmaSet involved).</summary>
    private static List<(Entity Entity, Vma Vma)> QueryVmas(World world)
    {
        var all = new List<(Entity, Vma)>();
        foreach (Chunk c in world.GetQuery(AllVmas))
        {
            ReadOnlySpan<Entity> entities = c.EntitySpan;
            Span<Vma> vmas = c.GetSpan<Vma>();
            for (int i = 0; i < vmas.Length; i++)
                all.Add((entities[i], vmas[i]));
        }
        return all;
    }

    private static int VmaEntitiesOf(World world, int mmId) => QueryVmas(world).Count(x => x.Vma.MmId == mmId);

    [Test]
    public void AWorldQueryMidwayThroughTheDefaultScenarioPrintsEveryLiveProcessesMaps()
    {
        using var m = ScenarioLoader.Build(DefaultScenario.Load());
        var k = m.Kernel;
        // Run until the pre-forked server's first child has exited (its four children were forked at 20000
        // server accesses), so the World has held and dropped VMAs of a forked mm, then keep going a little.
        RunUntil(m, () => k.Tasks.Processes.Any(p => k.Tasks.ProcessName(Proc(m, p)) == "server-1" && Proc(m, p).State == ProcessState.Exited));
        for (int i = 0; i < 50; i++)
            m.Env.RunTick();
        var live = k.Tasks.Processes.Where(p => Proc(m, p).State is not (ProcessState.Exited or ProcessState.Killed)).ToList();
        // With the Linux 6.x LRU (default) reclaim's timing leaves two processes alive at this point (four before).
        Assert.That(live, Has.Count.GreaterThanOrEqualTo(2), "precondition: several live processes");
        Assert.That(k.Tasks.Processes.Count - live.Count, Is.GreaterThanOrEqualTo(1), "precondition: at least one exited");

        // Expected: /proc/<pid>/maps of every live process in pid order, printed from each mm's VMA index.
        var expected = new StringBuilder();
        foreach (var p in live)
        {
            Assert.That(Mm(m, p).Mm.GateVma, Is.Null, "exec layouts have no gate area, which is not a VMA");
            expected.Append(ProcMaps.Format(Mm(m, p).Mm));
        }

        // Actual: the Vma entities of the World, grouped by owner in the same process order and sorted by address.
        var byMm = QueryVmas(k.World).GroupBy(x => x.Vma.MmId).ToDictionary(g => g.Key, g => g.Select(x => x.Vma).OrderBy(v => v.Start).ToList());
        var actual = new StringBuilder();
        foreach (var p in live)
        {
            MmState mm = Mm(m, p);
            List<Vma> mine = byMm.TryGetValue(mm.Id, out var l) ? l : [];
            Assert.That(mine, Has.Count.EqualTo(mm.Mm.Struct.MapCount), $"map_count of {k.Tasks.ProcessName(Proc(m, p))} = its Vma entities");
            foreach (Vma v in mine)
                ProcMaps.WriteVma(actual, v, k.Files, mm.Mm.Mode.PointerSize);
            byMm.Remove(mm.Id);
        }

        Assert.That(actual.ToString(), Is.EqualTo(expected.ToString()));
        Assert.That(byMm.Keys, Is.Empty, "no Vma entity belongs to an exited process");
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }

    [Test]
    public void MunmapSplitCreatesAndDestroysTheEntitiesWorkedOutByHand()
    {
        var world = new World();
        var mm = new Mm(7, PagingMode.X86_64, new FileTable(), world);
        const ulong b = 0x1000_0000;
        Assert.That(mm.DoMmap(b, 8 * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0), Is.EqualTo((long)b));
        Entity original = mm.Vmas.EntityAt(0);
        Assert.That(world.CountEntities(AllVmas), Is.EqualTo(1));

        // munmap pages 2..3 of [0, 8): split at 2 creates [2, 8) (+1), split at 4 creates [4, 8) (+1), the middle
        // [2, 4) is removed (-1): 1 + 2 - 1 = 2 entities; the lower part keeps the original entity.
        Assert.That(mm.DoMunmap(b + (2 * Page), 2 * Page), Is.EqualTo(0));
        var vmas = QueryVmas(world).OrderBy(x => x.Vma.Start).ToList();
        Assert.That(vmas.Select(x => (x.Vma.Start, x.Vma.End)), Is.EqualTo(new[] { (b, b + (2 * Page)), (b + (4 * Page), b + (8 * Page)) }));
        Assert.That(vmas[0].Entity, Is.EqualTo(original));
        Assert.That(vmas.All(x => x.Vma.MmId == 7), Is.True);
        Assert.That(mm.Struct.MapCount, Is.EqualTo(2));
        // The upper part's pgoff moved with its start: anonymous pgoff = start >> 12.
        Assert.That(vmas[1].Vma.PgOff, Is.EqualTo((b + (4 * Page)) >> 12));

        // munmap [1, 5) straddles both: split at 1 (+1) and at 5 (+1), then [1, 2) and [4, 5) go (-2): still 2.
        Entity upper = vmas[1].Entity;
        Assert.That(mm.DoMunmap(b + Page, 4 * Page), Is.EqualTo(0));
        vmas = QueryVmas(world).OrderBy(x => x.Vma.Start).ToList();
        Assert.That(vmas.Select(x => (x.Vma.Start, x.Vma.End)), Is.EqualTo(new[] { (b, b + Page), (b + (5 * Page), b + (8 * Page)) }));
        Assert.That(vmas[0].Entity, Is.EqualTo(original), "[0, 1) is what is left of the original");
        Assert.That(world.IsAlive(upper), Is.False, "[4, 5) was the lower part of the old upper entity, now unmapped");
    }

    [Test]
    public void MprotectSplitsIntoThreeEntitiesAndMergingBackDestroysTwo()
    {
        var world = new World();
        var mm = new Mm(3, PagingMode.X86_64, new FileTable(), world);
        const ulong b = 0x2000_0000;
        const MapFlags anon = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed;
        mm.DoMmap(b, 3 * Page, Prot.Read | Prot.Write, anon, -1, 0);
        Entity original = mm.Vmas.EntityAt(0);

        // Read-only middle page: split at 1 (+1) and at 2 (+1) gives [0,1) rw, [1,2) r, [2,3) rw: 3 entities.
        Assert.That(mm.DoMprotect(b + Page, Page, Prot.Read), Is.EqualTo(0));
        Assert.That(world.CountEntities(AllVmas), Is.EqualTo(3));
        Entity middle = mm.Vmas.EntityAt(1);
        Entity last = mm.Vmas.EntityAt(2);
        Assert.That(world.Get<Vma>(middle).Flags & VmFlags.AccessMask, Is.EqualTo(VmFlags.Read));

        // Writable again: the middle kept VM_ACCOUNT through the read-only spell, so it regains exactly its
        // neighbours' flags and vma_merge absorbs [2,3) into it (-1), then folds it into [0,1) (-1): one
        // entity left, the original.
        Assert.That(mm.DoMprotect(b + Page, Page, Prot.Read | Prot.Write), Is.EqualTo(0));
        Assert.That(world.CountEntities(AllVmas), Is.EqualTo(1));
        Assert.That(mm.Vmas.EntityAt(0), Is.EqualTo(original));
        Assert.That((world.IsAlive(middle), world.IsAlive(last)), Is.EqualTo((false, false)));
        Assert.That((world.Get<Vma>(original).Start, world.Get<Vma>(original).End), Is.EqualTo((b, b + (3 * Page))));
        Assert.That(mm.Struct.MapCount, Is.EqualTo(1));
    }

    [Test]
    public void BrkAndStackGrowthMoveTheEntitysBoundsAndTheIndexFollows()
    {
        var world = new World();
        var mm = new Mm(1, PagingMode.X86_64, new FileTable(), world);
        mm.Struct.StartBrk = mm.Struct.Brk = 0x60_0000;
        Assert.That(mm.DoBrk(0x60_0000 + (2 * Page)), Is.EqualTo(0x60_0000 + (2 * Page)));
        Entity heap = mm.Vmas.EntityAt(0);
        // do_brk_flags extends the [heap] VMA in place: same entity, new end, found by find_vma at its new top.
        Assert.That(mm.DoBrk(0x60_0000 + (5 * Page)), Is.EqualTo(0x60_0000 + (5 * Page)));
        Assert.That(mm.Vmas.EntityAt(0), Is.EqualTo(heap));
        Assert.That(world.Get<Vma>(heap).End, Is.EqualTo(0x60_0000 + (5 * Page)));
        Assert.That(mm.Vmas.VmaLookup(0x60_0000 + (4 * Page)), Is.EqualTo(0));

        const ulong top = 0x7000_0000;
        mm.DoMmap(top - (2 * Page), 2 * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.GrowsDown, -1, 0);
        Entity stack = mm.Vmas.EntityAt(1);
        // expand_downwards by 3 pages: start and pgoff move down by 3 in the component and the index alike.
        int idx = mm.FindExtendVma(top - (5 * Page));
        Assert.That(idx, Is.EqualTo(1));
        ref readonly Vma s = ref world.Get<Vma>(stack);
        Assert.That((s.Start, s.PgOff), Is.EqualTo((top - (5 * Page), (top >> 12) - 5)));
        Assert.That(mm.Vmas.StartOf(1), Is.EqualTo(top - (5 * Page)));
        Assert.That(world.CountEntities(AllVmas), Is.EqualTo(2));
    }

    [Test]
    public void ForkCreatesTheChildsEntitiesAndExitDestroysThem()
    {
        using var m = new SimMachine(Options());
        var parent = Add(m, "parent", mm =>
        {
            Mmap(mm, Base, 2, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Base + (4 * Page), 1, Prot.Read, MapFlags.Private | MapFlags.Anonymous);
            Mmap(mm, Base + (8 * Page), 3, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous);
        }, 0, W(Base), R(Base + (4 * Page)), W(Base + (8 * Page)), R(Base));
        m.ScheduleAfterAccesses(1, new AddressSpaceOp(AddressSpaceOpKind.Fork, parent)
        {
            ChildName = "child",
            ChildWorkload = _ => Trace("child", R(Base)),
        });
        var k = m.Kernel;
        int parentMm = Mm(m, parent).Id;
        Assert.That(VmaEntitiesOf(k.World, parentMm), Is.EqualTo(3));

        RunUntil(m, () => k.Tasks.Processes.Count == 2);
        Entity child = k.Tasks.Processes[1];
        int childMm = Mm(m, child).Id;
        // dup_mmap: one new entity per parent VMA (none is VM_DONTCOPY), owned by the child, distinct from the parent's.
        var parentEntities = Mm(m, parent).Mm.Vmas.Entities.ToArray();
        var childEntities = Mm(m, child).Mm.Vmas.Entities.ToArray();
        Assert.That(VmaEntitiesOf(k.World, childMm), Is.EqualTo(3));
        Assert.That(childEntities.Intersect(parentEntities), Is.Empty);
        Assert.That(childEntities.Select(e => (k.World.Get<Vma>(e).Start, k.World.Get<Vma>(e).End)),
            Is.EqualTo(parentEntities.Select(e => (k.World.Get<Vma>(e).Start, k.World.Get<Vma>(e).End))));

        m.Run();
        Assert.That(Proc(m, parent).State, Is.EqualTo(ProcessState.Exited));
        Assert.That(Proc(m, child).State, Is.EqualTo(ProcessState.Exited));
        // exit_mmap destroyed every VMA entity of both mms: nothing of theirs is left in the World.
        Assert.That(k.World.CountEntities(AllVmas), Is.EqualTo(0));
        Assert.That(parentEntities.Concat(childEntities).Any(k.World.IsAlive), Is.False);
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);
    }

    [Test]
    public void TheCheckerReportsAnOrphanAndAVmaDestroyedBehindTheIndexsBack()
    {
        using var m = new SimMachine(Options());
        var p = Add(m, "p", Anon(Base, 2), 0, R(Base));
        var k = m.Kernel;
        MmState mm = Mm(m, p);
        Assert.That(new InvariantChecker(k).Check(), Is.Empty);

        // A Vma entity nobody indexes, claiming to belong to p's mm.
        Entity stray = k.World.Create(new Vma { Start = Base + (16 * Page), End = Base + (17 * Page), MmId = mm.Id, FileId = -1 });
        Assert.That(new InvariantChecker(k).Check(), Is.EqualTo(new[] { $"mm {mm.Id}: 2 Vma entities in the World but 1 VMAs indexed" }));
        k.World.Destroy(stray);

        // One owned by an mm that does not exist.
        stray = k.World.Create(new Vma { Start = Base, End = Base + Page, MmId = 99, FileId = -1 });
        Assert.That(new InvariantChecker(k).Check(), Is.EqualTo(new[] { "vma 10000000-10001000: entity of mm 99, which does not exist (orphan)" }));
        k.World.Destroy(stray);

        // The indexed entity destroyed directly: the index now points at a dead entity and the World holds none.
        Entity indexed = mm.Mm.Vmas.EntityAt(0);
        k.World.Destroy(indexed);
        Assert.That(new InvariantChecker(k).Check(), Is.EqualTo(new[]
        {
            $"mm {mm.Id}: 0 Vma entities in the World but 1 VMAs indexed",
            $"mm {mm.Id}: VMA 0 (10000000-10002000) is indexed but its entity {indexed} is not a live Vma",
        }));
    }
}
