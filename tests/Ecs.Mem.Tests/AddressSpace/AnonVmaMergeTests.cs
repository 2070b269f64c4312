using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// vma_merge's anon_vma rule (is_mergeable_anon_vma, can_vma_merge_right, find_mergeable_anon_vma in Linux 6.18),
/// on an address space driven directly: AnonVmaPrepare stands for the first written page of an area. The expected
/// layouts are worked out by hand from those functions; the kit program merge-anon-vma checks the first case
/// against the kernel (two VMAs, the gap joining the first area).
/// </summary>
public class AnonVmaMergeTests
{
    private const ulong X = 0x7f0000000000;
    private const ulong M = 1UL << 20;

    private static SimMachine Build() => ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(
        "processes:\n  - name: p\n    layout: {exec: {}}\n    workload: {generator: \"seq:count=1,pages=1\"}\n"), "a.yaml"));

    private static Mm MmOf(SimMachine m) => m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;

    private static (ulong, ulong)[] Around(Mm mm)
    {
        var list = new List<(ulong, ulong)>();
        foreach (ref readonly Vma v in mm.Vmas)
        {
            if (v.Start >= X && v.End <= X + (8 * M))
                list.Add((v.Start, v.End));
        }

        return [.. list];
    }

    private static void Map(Mm mm, ulong at, Prot prot) =>
        Assert.That(mm.DoMmap(at, M, prot, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0), Is.EqualTo((long)at));

    private static void Prepare(Mm mm, ulong va) => mm.AnonVmaPrepare(mm.Vmas.FindVma(va));

    [TestCase(true, ExpectedResult = 2)]
    [TestCase(false, ExpectedResult = 1)]
    public int AGapFilledBetweenTwoWrittenAreasJoinsTheFirstOnly(bool written)
    {
        // a [X, X+1M) rw, g [X+1M, X+2M) PROT_NONE, b [X+2M, X+3M) rw; a and b written (each its own anon_vma: g,
        // their only neighbour, has none to share); g unmapped and c mapped in its place. c can merge with a and
        // with b, but a and b have different anon_vmas: Linux merges c into a only. Unwritten, all three merge.
        using var m = Build();
        Mm mm = MmOf(m);
        Map(mm, X, Prot.Read | Prot.Write);
        Map(mm, X + M, Prot.None);
        Map(mm, X + (2 * M), Prot.Read | Prot.Write);
        if (written)
        {
            Prepare(mm, X);
            Prepare(mm, X + (2 * M));
            Assert.That(mm.Vmas[mm.Vmas.FindVma(X)].AnonVma, Is.Not.EqualTo(mm.Vmas[mm.Vmas.FindVma(X + (2 * M))].AnonVma));
        }

        Assert.That(mm.DoMunmap(X + M, M), Is.EqualTo(0));
        Map(mm, X + M, Prot.Read | Prot.Write);
        var vmas = Around(mm);
        if (written)
            Assert.That(vmas, Is.EqualTo(new[] { (X, X + (2 * M)), (X + (2 * M), X + (3 * M)) }));
        return vmas.Length;
    }

    [Test]
    public void AnAdjacentAreaDifferingOnlyInAccessBitsSharesTheAnonVmaAndMergesAfterMprotect()
    {
        // a rw written; d rwx right after it (not merged: the flags differ) takes a's anon_vma on its first write
        // (find_mergeable_anon_vma ignores the access bits); mprotect(d, rw) then merges the two.
        using var m = Build();
        Mm mm = MmOf(m);
        Map(mm, X, Prot.Read | Prot.Write);
        Prepare(mm, X);
        Map(mm, X + M, Prot.Read | Prot.Write | Prot.Exec);
        Assert.That(Around(mm), Has.Length.EqualTo(2));
        Prepare(mm, X + M);
        Assert.That(mm.Vmas[mm.Vmas.FindVma(X + M)].AnonVma, Is.EqualTo(mm.Vmas[mm.Vmas.FindVma(X)].AnonVma));
        Assert.That(mm.DoMprotect(X + M, M, Prot.Read | Prot.Write), Is.EqualTo(0));
        Assert.That(Around(mm), Is.EqualTo(new[] { (X, X + (2 * M)) }));
    }

    [Test]
    public void InAForkChildANewAreaDoesNotMergeWithAWrittenInheritedOne()
    {
        // After fork the child's copy of a written area has its own anon_vma chained to the parent's
        // (vma_had_uncowed_parents): a new mapping right after it stays separate in the child, merges in the parent.
        using var m = Build();
        Mm mm = MmOf(m);
        Map(mm, X, Prot.Read | Prot.Write);
        Prepare(mm, X);
        Mm child = mm.DupMmap(1000) ?? throw new AssertionException("fork refused");
        Map(child, X + M, Prot.Read | Prot.Write);
        Map(mm, X + M, Prot.Read | Prot.Write);
        Assert.That(Around(child), Is.EqualTo(new[] { (X, X + M), (X + M, X + (2 * M)) }));
        Assert.That(Around(mm), Is.EqualTo(new[] { (X, X + (2 * M)) }));
    }
}
