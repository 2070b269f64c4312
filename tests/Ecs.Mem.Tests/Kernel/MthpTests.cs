using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Reporting;
using EcsMem.Traces;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// Multi-size THP for anonymous memory (alloc_anon_folio, mm/memory.c): the fault counts and per-size stats below are
/// worked out by hand from its rules — the highest enabled order whose naturally aligned range lies in the VMA and is
/// all pte_none, lower orders after it — and from thp_vma_allowable_orders' always/madvise/inherit masks. The real
/// kernel's figures for 64K <c>always</c> are the kit programs mthp-anon-fault and mthp-read-then-write (equal).
/// </summary>
public class MthpTests
{
    private const ulong K = 1024;

    private static KernelOptions Options(ThpEnabled top, ushort always = 0, ushort madvise = 0, ushort inherit = 0) =>
        KernelKit.Options(4096, 0) with
        {
            Thp = new ThpConfig(top, ThpDefrag.Madvise, true) { AnonOrdersAlways = always, AnonOrdersMadvise = madvise, AnonOrdersInherit = inherit },
        };

    private static MemoryAccess[] Writes(ulong start, ulong bytes)
    {
        var a = new MemoryAccess[bytes / Page];
        for (int i = 0; i < a.Length; i++)
            a[i] = W(start + ((ulong)i * Page));
        return a;
    }

    private static void RunChecked(SimMachine m)
    {
        while (!m.Finished)
            m.Env.RunTick();
        Assert.That(InvariantChecker.Check(m), Is.Empty);
    }

    private const ushort O64K = 1 << 4, O32K = 1 << 3, O16K = 1 << 2;

    [Test]
    public void SixtyFourKAlwaysMapsAMegabyteInSixteenFaults()
    {
        // 1 MiB written page by page with hugepages-64kB/enabled = always (top level madvise, no MADV_HUGEPAGE): each
        // first touch of a 64 KiB-aligned block allocates an order-4 folio and maps its 16 pages: 16 faults, 256 pages of
        // RssAnon, no AnonHugePages (smaps counts PMD-mapped pages only), anon_fault_alloc 16 for 64kB.
        using var m = new SimMachine(Options(ThpEnabled.Madvise, always: O64K));
        var p = Add(m, "p", Anon(Base, 256), 0, Writes(Base, 1024 * K));
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(16));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[4], Is.EqualTo(16));
        Assert.That(m.Kernel.Thp.AnonFaultFallback[4], Is.Zero);
        Assert.That(Counter(m, "thp_fault_alloc"), Is.Zero);
        var mthp = SimulationReport.Build(m, "t").Mthp;
        Assert.That(mthp, Is.Not.Null);
        Assert.That(mthp!.Single(v => v.Name == "hugepages-64kB/anon_fault_alloc").Value, Is.EqualTo(16));
    }

    [Test]
    public void EveryEntryOfTheRangeMustBeNoneAndTheRangeInTheVma()
    {
        // 64K, 32K and 16K always; a 1 MiB VMA. A read of Base+32K maps the zero page (1 fault). The write at Base: the
        // 64K range holds that entry, the 32K range [0, 32K) is all none → an order-3 folio (1 fault, pages 0-7). The
        // write at 32K copies the zero page (do_wp_page, order 0: 1 fault). 36K, 40K, 44K: every range holds the 32K
        // entry → order 0 (3 faults). 48K: the 16K range [48K, 64K) is none → an order-2 folio (1 fault) for 48-60K.
        // 7 faults in all.
        using var m = new SimMachine(Options(ThpEnabled.Madvise, always: O64K | O32K | O16K));
        var p = Add(m, "p", Anon(Base, 256), 0, [R(Base + (32 * K)), .. Writes(Base, 64 * K)]);
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(7));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[3], Is.EqualTo(1));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[2], Is.EqualTo(1));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[4], Is.Zero);
    }

    [Test]
    public void AFolioMustFitInsideTheVma()
    {
        // A VMA of 96 KiB at a 2 MiB boundary, 64K and 16K always: Base → a 64K folio (pages 0-15); at 64K the 64K block
        // would end past the VMA, so a 16K folio (64-76K), then another at 80K (80-92K): 3 faults.
        using var m = new SimMachine(Options(ThpEnabled.Madvise, always: O64K | O16K));
        var p = Add(m, "p", Anon(Base, 24), 0, Writes(Base, 96 * K));
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(3));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[4], Is.EqualTo(1));
        Assert.That(m.Kernel.Thp.AnonFaultAlloc[2], Is.EqualTo(2));
    }

    [TestCase(ThpEnabled.Madvise, "madvise", false, 256)]
    [TestCase(ThpEnabled.Madvise, "madvise", true, 16)]
    [TestCase(ThpEnabled.Never, "inherit", true, 256)]
    [TestCase(ThpEnabled.Madvise, "inherit", false, 256)]
    [TestCase(ThpEnabled.Madvise, "inherit", true, 16)]
    [TestCase(ThpEnabled.Always, "inherit", false, 16)]
    [TestCase(ThpEnabled.Never, "always", false, 16)]
    public void TheSizeModesFollowThpVmaAllowableOrders(ThpEnabled top, string mode, bool madvHugepage, int faults)
    {
        // 1 MiB written; 64K set to MODE. madvise needs VM_HUGEPAGE; inherit follows the top-level mode (always: every
        // VMA, madvise: VM_HUGEPAGE ones, never: none); always ignores the top level. The 1 MiB VMA sits inside one 2 MiB
        // block but does not cover it, so no PMD-sized page in any case.
        ushort bit = O64K;
        var o = mode switch
        {
            "madvise" => Options(top, madvise: bit),
            "inherit" => Options(top, inherit: bit),
            _ => Options(top, always: bit),
        };
        using var m = new SimMachine(o);
        var p = Add(m, "p", Anon(Base, 256), 0, Writes(Base, 1024 * K));
        if (madvHugepage)
            m.ScheduleAfterAccesses(0, new AddressSpaceOp(AddressSpaceOpKind.Madvise, p) { Addr = Base, Len = 1024 * K, Advice = (int)MadviseAdvice.HugePage });
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(faults));
    }

    [TestCase(4096, 1)]
    [TestCase(64, 2)]
    public void ResultsDoNotDependOnTheBatchSize(int batch, int cpus)
    {
        // Two processes writing and reading over sizes 64K/32K/16K with zero-page entries in the way: the same faults
        // and per-size allocations at any batch size and CPU count (per-CPU page lists off, as in the reference).
        static (long, long, long, long, long) RunOnce(int batch, int cpus)
        {
            using var m = new SimMachine(Options(ThpEnabled.Madvise, always: O64K | O32K | O16K) with { BatchSize = batch, Cpus = cpus, PerCpuPages = false });
            var p = Add(m, "p", Anon(Base, 256), 0, [R(Base + (32 * K)), R(Base + (200 * K)), .. Writes(Base, 1024 * K)]);
            var q = Add(m, "q", Anon(Base, 256), 0, [R(Base + (96 * K)), .. Writes(Base, 512 * K)]);
            RunChecked(m);
            return (Stats(m, p).MinFlt, Stats(m, q).MinFlt, m.Kernel.Thp.AnonFaultAlloc[4], m.Kernel.Thp.AnonFaultAlloc[3], m.Kernel.Thp.AnonFaultAlloc[2]);
        }

        Assert.That(RunOnce(batch, cpus), Is.EqualTo(RunOnce(1, 1)));
    }

    [Test]
    public void WithEverySizeNeverTheReportHasNoMthpSection()
    {
        using var m = new SimMachine(Options(ThpEnabled.Madvise));
        var p = Add(m, "p", Anon(Base, 16), 0, Writes(Base, 64 * K));
        RunChecked(m);
        Assert.That(Stats(m, p).MinFlt, Is.EqualTo(16));
        Assert.That(SimulationReport.Build(m, "t").Mthp, Is.Null);
    }

    [Test]
    public void SizesAreParsedAndBadValuesNamed()
    {
        const string procs = "processes:\n  - name: p\n    workload: {generator: \"zipf:count=10,pages=4,alpha=0.8,seed=1\"}\n";
        var t = ScenarioParser.Parse(new StringReader("machine:\n  thp: {sizes: {64K: always, 16K: madvise, 1M: inherit, 32K: never}}\n" + procs), "t.yaml").Machine.Thp;
        Assert.That(t.AnonOrdersAlways, Is.EqualTo(1 << 4));
        Assert.That(t.AnonOrdersMadvise, Is.EqualTo(1 << 2));
        Assert.That(t.AnonOrdersInherit, Is.EqualTo(1 << 8));
        Assert.That(ScenarioParser.Parse(new StringReader("machine:\n  ram: 16M\n" + procs), "t.yaml").Machine.Thp.AnyMthp, Is.False);
        var ex = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader("machine:\n  thp: {sizes: {64K: sometimes}}\n" + procs), "t.yaml"));
        Assert.That(ex!.Message, Does.Contain("t.yaml").And.Contain("sometimes"));
        ex = Assert.Throws<Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader("machine:\n  thp: {sizes: {8K: always}}\n" + procs), "t.yaml"));
        Assert.That(ex!.Message, Does.Contain("8K"));
    }
}
