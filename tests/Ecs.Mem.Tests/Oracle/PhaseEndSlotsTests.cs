using EcsMem.Oracle;
using EcsMem.Systems.Events;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// phase_end's measured accesses (<c>ECSMEM_ORACLE_PHASE_END_LOADS</c>, the default since session 23, with the stack array's
/// signal-frame page last, <c>ECSMEM_ORACLE_SIGFRAME=1</c>, the default since session 22) against the kernel's swap slots. Recorded on Linux 6.18 with
/// <c>BIO=1 flock /work/kernel.lock oracle/experiments/harness-stores/run.sh OUT swap-anon-write</c> and bios.py (3 of 3
/// runs alike, oracle/experiments/harness-stores/results/session19-bios.txt): after the fill's phase_end the write pass
/// writes into swap cluster 0 only at slots 3, 8, 149, 150, 151, 152 (the holes the fill's phase_end stores left: ld.so's
/// rw page 0, main's stack page, buf's 4 smaps pages), then 11, 1 and 85: the TLS page, the .data page and outn's page,
/// which phase_end loaded first (the swap-in kept the slot) and stored to later, rewritten in place.
/// These tests run the generated scenario alone (<see cref="KitScenarioRun"/>), not the kit's full run (<see cref="SimulationRun"/>):
/// there the write pass's frees fall otherwise against a cluster's end and it rewrites 3, 8 and 149–152 a second time
/// later in the pass, which the kernel's 3 runs do not, a known difference (session 32,
/// oracle/experiments/pswp-harness/results/session32.txt, sections 4 and 6: not the swap allocator, whose Linux 6.18 rules
/// take the same slots on EcsMem's sequence).
/// </summary>
[NonParallelizable]
public class PhaseEndSlotsTests
{
    private const long Cluster0End = 214; // the harness's 213 pages take slots 1-213; the region starts at 214

    private static List<long> ClusterZeroWritesAfterFill(string name)
    {
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        var program = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(p => p.Name == name);
        GeneratedScenario sc = ScenarioGenerator.Generate(new ProgramPlan(program));
        List<MemEvent> events = KitScenarioRun.RunWithEvents(sc, name).Events;
        // The fill's phase_end opens its files after the fill's swap-outs: what follows is the write pass.
        int firstOut = events.FindIndex(e => e.Kind == MemEventKind.SwapOut);
        int opens = events.FindIndex(firstOut, e => e.Kind == MemEventKind.Syscall);
        return events.Skip(opens).Where(e => e.Kind == MemEventKind.SwapOut && e.Slot < Cluster0End).Select(e => e.Slot).ToList();
    }

    [Test]
    public void The_write_pass_reuses_and_rewrites_cluster_0_slots_as_the_kernel()
    {
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "1");
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_SIGFRAME", "1");
            Assert.That(ClusterZeroWritesAfterFill("swap-anon-write"), Is.EqualTo(new long[] { 3, 8, 149, 150, 151, 152, 11, 1, 85 }));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", null);
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_SIGFRAME", null);
        }
    }

    [Test]
    public void Session_17s_stores_free_four_slots_the_kernel_keeps()
    {
        // the what-if ECSMEM_ORACLE_PHASE_END_LOADS=0: session 17's stores to ld.so's rw page 1 (slot 2), its scratch page (7),
        // the TLS page (11) and outn's page (85, with the signal-frame page last as measured: buf's smaps pages at 149-152 as
        // the kernel's) free them at the fill's phase_end: the write pass reuses them as holes.
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "0");
            List<long> writes = ClusterZeroWritesAfterFill("swap-anon-write");
            Assert.That(writes.Take(10), Is.EqualTo(new long[] { 2, 3, 7, 8, 11, 85, 149, 150, 151, 152 }));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", null);
        }
    }

    [Test]
    public void The_record_reaches_outs_second_page_in_the_second_phase_end_and_starts_there_from_the_third()
    {
        // out starts 0x340 bytes into outn's page and each phase_end appends ~1,700 bytes (RecordBytesPerPhase): phase_end 2's
        // share ends at 0x340 + 3,400 - 1 = 4,231, past the page's 4,096 (a store there after its smaps read, as the kernel's
        // write fault in memfd-swap-memcg's remap/failcnt and shmem-swap-memcg's read/maxusage segments); phase_end 3's
        // header starts at 4,232, in that page (the kernel's write fault in their last phase_end's pre segment).
        // 214 pages: bss from 86, outn's page 86 + 63 = 149, out's second page 150.
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "1");
            HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
            Assert.Multiple(() =>
            {
                Assert.That(new[] { 1, 2, 3, 4 }.Select(h.RecordHead), Is.EqualTo(new long[][] { [], [], [150], [150] }));
                Assert.That(new[] { 1, 2, 3 }.Select(h.RecordGrowth), Is.EqualTo(new long[][] { [], [150], [] }));
            });
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "0");
            HarnessFootprint old = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
            Assert.That(old.RecordHead(3).Concat(old.RecordGrowth(2)), Is.Empty, "off in session 17's model");
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", null);
        }
    }
}
