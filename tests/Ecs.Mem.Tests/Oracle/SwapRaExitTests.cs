using EcsMem.Oracle;
using EcsMem.Scenarios;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kit's previous-run pass (oracle/experiments/swap-ra-exit): what a run touches after its last snapshot, up to its
/// exit, and the swap-readahead statics it hands the measured run.
/// </summary>
[TestFixture]
[NonParallelizable]
public class SwapRaExitTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    private static PhaseProgram Program(string name) =>
        PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == name);

    [Test]
    public void The_record_reaches_outs_second_page_in_the_second_phase_end()
    {
        // out starts 0x340 bytes into outn's page (nm: outn 0x44320, out 0x44340); 1,700 bytes a phase_end. Phase 1:
        // bytes 832..2,531 of the page, outn's page alone (which BeforeSnapshot writes); phase 2: 2,532..4,231, into
        // the next page (the kernel's tmpfs-swap-memcg record is 3,406 bytes and its exit swaps in 0x555555599000,
        // out's second page); phases 3 and 4: 4,232..7,631, that page again.
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        long bss = 214 - HarnessFootprint.BssPages;
        Assert.That(h.RecordTail(1), Is.Empty);
        Assert.That(h.RecordTail(2), Is.EqualTo(new[] { bss + HarnessFootprint.OutnPage + 1 }));
        Assert.That(h.RecordTail(3), Is.EqualTo(new[] { bss + HarnessFootprint.OutnPage + 1 }));
        Assert.That(h.RecordTail(4), Is.EqualTo(new[] { bss + HarnessFootprint.OutnPage + 1 }));
    }

    [Test]
    public void Exit_touches_ld_sos_binding_pages_then_libcs_bss_5_and_relro_0()
    {
        // 22 start-up pages (214 less warm_up's 192): the roles take 2 + 9 + 5 + 1 = 17 (0-16), and 17-21 are written at
        // start-up only, in StartupOrder at the kernel's slots 13, 15, 17, 18 and 20 (oracle/experiments/stack-top/results/
        // session16.txt's A1 slots: 13 lcRELRO0, 15 lcRELRO2, 17 lcbss5, 18 lcbss12, 20 lcbss4), so libc's bss page 5 is 19
        // and its RELRO page 0 is 17. The kernel's exit (sw60-harness-reclaim, 14 of 14 runs) read the program's RELRO page,
        // ld.so's 0x7ffff7ffc000, 0x7ffff7ffe000 and scratch page and wrote 0x7ffff7ffd000: the binding role's 14, 13, 11, 15
        // and 12; then it stored to 0x7ffff7fada60 (libc's bss page 5) and loaded 0x7ffff7fa29d8 (libc's RELRO page 0)
        // (swap-ra-exit, 12 of 12 runs). A footprint with 19 start-up pages lacks bss page 5.
        Assert.That(HarnessFootprint.FromTotal(214, emptyEnvironment: true).ExitPages, Is.EqualTo(new[]
        {
            (14L, false), (13L, false), (11L, false), (15L, false), (12L, true), (19L, true), (17L, false),
        }));
        Assert.That(HarnessFootprint.FromTotal(192 + 19, emptyEnvironment: true).ExitPages, Is.Empty);
        Assert.That(HarnessFootprint.FromTotal(192 + 20, emptyEnvironment: true).ExitPages, Has.Length.EqualTo(7));
    }

    [Test]
    public void Only_the_statics_keys_replace_the_previous_run()
    {
        // A what-if that sets swapin_nr_pages' statics replaces the previous-run pass; one that sets a rule of the same
        // prefix (swap_ra_clear_reclaim, a flag of the hit, no state) must leave it on: before session 26 any
        // "\n  swap_ra_" key switched the pass off, so swap_ra_clear_reclaim what-ifs ran from boot's statics.
        Assert.That(SimulationRun.SetsSwapRaState("machine:\n  swap_ra_clear_reclaim: true\n  swappiness: 60\n"), Is.False);
        Assert.That(SimulationRun.SetsSwapRaState("machine:\n  swap_ra_hits: 0\n"), Is.True);
        Assert.That(SimulationRun.SetsSwapRaState("machine:\n  swap_ra_window: 8\n"), Is.True);
        Assert.That(SimulationRun.SetsSwapRaState("machine:\n  swap_ra_prev_offset: 2\n"), Is.True);
    }

    [Test]
    public void The_state_goes_into_the_scenarios_machine_section()
    {
        var plan = new ProgramPlan(Program("tmpfs-swap-memcg"));
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-swapra-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            string yaml = Path.Combine(dir, "tmpfs-swap-memcg.yaml");
            File.WriteAllText(Path.Combine(dir, "tmpfs-swap-memcg.lackey"), sc.Trace);
            File.WriteAllText(yaml, SimulationRun.WithSwapRaState(sc.Yaml, (3, 1304, 8)));
            MachineConfig mc = ScenarioParser.ParseFile(yaml).Machine;
            Assert.That((mc.SwapRaHits, mc.SwapRaPrevOffset, mc.SwapRaWindow), Is.EqualTo((3, 1304L, 8)));
            // The trace holds the accesses after the last snapshot too (only the previous-run pass runs them).
            string[] lines = sc.Trace.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(sc.Accesses), "one trace line an access");
            long tail = sc.Accesses - plan.Phases[^1].AccessesAtSnapshot;
            // buf's 4 smaps pages, the TLS page (vmas' sscanf's store into struct pthread) and reg's (BetweenPhases), out's
            // second page, exit()'s 5 binding pages and 2 libc pages.
            Assert.That(tail, Is.EqualTo(4 + 1 + 1 + 1 + 5 + 2));
            HarnessFootprint h = HarnessFootprint.Of(plan.Program)!;
            Assert.That(lines[^2..], Is.EqualTo(new[] { $" S {h.PageAddr(19):x},1", $" L {h.PageAddr(17):x},1" }));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void The_previous_run_pass_is_a_what_if_and_only_for_cluster_swap_readahead()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-swapra2-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            (int, long, int)? Exit(string name)
            {
                GeneratedScenario sc = ScenarioGenerator.Generate(new ProgramPlan(Program(name)));
                string yaml = Path.Combine(dir, name + ".yaml");
                File.WriteAllText(Path.Combine(dir, name + ".lackey"), sc.Trace);
                File.WriteAllText(yaml, sc.Yaml);
                return SimulationRun.PreviousRunExit(sc, yaml);
            }
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PREVIOUS_RUN", "0");
            Assert.That(Exit("tmpfs-swap-memcg"), Is.Null, "the what-if =0: boot's state");
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PREVIOUS_RUN", null);
            Assert.That(Exit("anon-first-touch"), Is.Null, "no swap");
            var st = Exit("tmpfs-swap-memcg");
            Assert.That(st, Is.Not.Null);
            // __swapin_nr_pages gives 1, 2, 4 or 8 pages at page-cluster 3; the read's swap-ins leave their hits.
            Assert.That(new[] { 1, 2, 4, 8 }, Does.Contain(st!.Value.Item3));
            Assert.That(st.Value.Item1, Is.InRange(0, 7));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PREVIOUS_RUN", null);
            Directory.Delete(dir, true);
        }
    }
}
