using EcsMem.Scenarios;
using EcsMem.Systems.Events;
using EcsMem.Systems.Machine;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kit harness's stack top page under memcg reclaim (oracle/experiments/stack-top), as the kit models it since session 17
/// (before, a what-if: <c>ECSMEM_ORACLE_EXEC_TOP=1</c>): exec writes it through
/// get_user_pages (FOLL_TOUCH, three get_arg_page calls), so it starts on the active list, and memcg reclaim never
/// deactivates a 1–2 page active anon list while the inactive one is large. Measured on Linux 6.18 (`run.sh
/// swap-anon-write 3`, `run.sh thp-swpout-fallback 3` and 2 more of each, results/session16.txt): the page is
/// REFERENCED|ACTIVE and present at the end of both passes in 12 of 12 runs; the harness's other 213 pages take swap
/// slots 1–213, so the region's first page gets slot 214 (also the write requests of session 15's traces,
/// oracle/experiments/thp-swap-memcg/results/kit.session15-thpfb.txt, in both programs).
/// </summary>
[NonParallelizable]
public class StackTopTests
{
    private const ulong TopPage = 0x7fff_ffff_e000;
    private const ulong Region = 0x1000_0000_0000;

    private static List<MemEvent> RunWithEvents(string name)
    {
        string oracle = EcsMem.Oracle.Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        var program = EcsMem.Oracle.PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(p => p.Name == name);
        EcsMem.Oracle.GeneratedScenario sc = EcsMem.Oracle.ScenarioGenerator.Generate(new EcsMem.Oracle.ProgramPlan(program));
        return KitScenarioRun.RunWithEvents(sc, name).Events;
    }

    [TestCase("swap-anon-write")]
    [TestCase("thp-swpout-fallback")]
    public void The_exec_written_top_stack_page_is_never_swapped_and_the_region_starts_at_slot_214(string program)
    {
        List<MemEvent> events = RunWithEvents(program);
        // try_to_unmap_one's PTE rewrites to a swap entry (zero-filled pages too, which take a slot without I/O).
        var unmaps = events.Where(e => e.Kind == MemEventKind.Unmap && e.Slot > 0).ToList();
        Assert.That(unmaps.Where(e => e.Address == TopPage), Is.Empty, "the top stack page is never swapped");
        // The fill's first reclaim takes the harness's pages, then the region's (later ones reuse freed slots).
        int first = unmaps.FindIndex(e => e.Address >= Region && e.Address < Region + (32UL << 20));
        Assert.That(unmaps[first].Slot, Is.EqualTo(214), "the region's first swap slot");
        Assert.That(unmaps.Take(first).Select(e => e.Slot).Order(), Is.EqualTo(Enumerable.Range(1, 213).Select(i => (long)i)),
            "the harness's 213 other pages take slots 1-213");
    }
}
