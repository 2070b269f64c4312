using EcsMem.Oracle;
using EcsMem.Systems.Events;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// <c>machine.swapin_fault_in_window</c> (swap_cluster_readahead's loop takes the faulting slot in its place) against the
/// kernel's swap slots of <c>buf</c>'s smaps pages at swap-anon-read's read pass's end. Recorded on Linux 6.18 with
/// <c>STOPS_swap_anon_read=6 flock /work/kernel.lock oracle/experiments/swap-slots-harness/run.sh 10 OUT swap-anon-read</c>
/// and slots.py (pagemap read with the program stopped at the read's phase_end getrusage; session 26,
/// oracle/experiments/swap-slots-harness/results/session26.kernel.txt): in 9 of 10 runs the pass's last harness writes
/// are ld.so's rw page 0, the stack array's top page and <c>buf</c>'s pages 1, 2, 3, 4, at slots 8400-8405 of the
/// second cluster run (in the tenth <c>buf</c>'s four came first, 8400-8403, still in page order). The fill's phase_end
/// swaps <c>buf</c>'s pages in with a window that holds the faulting page 1 and pages 2 and 3 read ahead; Linux adds
/// them to the LRU in slot order. Run as the kit runs it (the previous run's swap-readahead statics) under both
/// harness what-ifs, which put the other late pages in the kernel's order.
/// </summary>
[NonParallelizable]
public class SwapinFaultInWindowTests
{
    // buf's page k (k = 1..4; page 0 shares the .data page) is the bss's page k - 1: HarnessLayout puts the bss behind
    // the marker page and the .data page.
    private static ulong BufPage(int k) => ProgramPlan.MarkerAddr + ((ulong)(k + 1) * ProgramPlan.PageSize);

    /// <summary>The slot each of buf's pages 1-4 was last written to before the read's phase_end (the second smaps open).</summary>
    private static long[] BufSlotsAtReadEnd(bool faultInWindow)
    {
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        var program = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(p => p.Name == "swap-anon-read");
        GeneratedScenario sc = ScenarioGenerator.Generate(new ProgramPlan(program));
        string dir = Directory.CreateTempSubdirectory("ecsmem-swapin-window-").FullName;
        try
        {
            string yaml = Path.Combine(dir, "swap-anon-read.yaml");
            File.WriteAllText(yaml, sc.Yaml);
            sc.WriteTraces(dir, "swap-anon-read");
            string run = SimulationRun.PreviousRunExit(sc, yaml) is { } ra ? SimulationRun.WithSwapRaState(sc.Yaml, ra) : sc.Yaml;
            if (faultInWindow)
                run = run.Replace("\nmachine:\n", "\nmachine:\n  swapin_fault_in_window: true\n", StringComparison.Ordinal);
            File.WriteAllText(yaml, run);
            using var m = EcsMem.Systems.Machine.ScenarioLoader.Build(EcsMem.Scenarios.ScenarioParser.ParseFile(yaml));
            var sink = new ListEventSink();
            m.Kernel.AttachEvents(sink);
            m.Run();
            List<MemEvent> events = sink.Events;
            // The syscall events carry their phase_end's time: the read pass ends with its last access to the array
            // (at 0x100000000000) before the second smaps open, where the kernel's stop at phase_end's getrusage is.
            ulong smaps = events.Where(e => e.Kind == MemEventKind.Syscall && e.Text?.Contains("/proc/self/smaps\"", StringComparison.Ordinal) == true)
                .Select(e => e.Time).ElementAt(1);
            ulong readEnd = 1 + events.Where(e => e.Kind == MemEventKind.Fault && e.Time < smaps && e.Address >> 44 == 1).Max(e => e.Time);
            return [.. Enumerable.Range(1, 4).Select(k => events.Last(e => e.Kind == MemEventKind.SwapOut && e.Time < readEnd && e.Address == BufPage(k)).Slot)];
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long[] WithWhatIfs(bool faultInWindow)
    {
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EMIT_ORDER", "1");
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_BINDING_AFTER_SMAPS", "1");
            return BufSlotsAtReadEnd(faultInWindow);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EMIT_ORDER", null);
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_BINDING_AFTER_SMAPS", null);
        }
    }

    [Test]
    public void The_read_pass_writes_bufs_pages_to_the_kernels_slots_in_page_order()
    {
        Assert.That(WithWhatIfs(faultInWindow: true), Is.EqualTo(new long[] { 8402, 8403, 8404, 8405 }));
    }

    [Test]
    public void With_the_faulting_page_after_the_windows_drain_buf_page_1_goes_out_after_pages_2_and_3()
    {
        // The default: the fill's phase_end window puts pages 2 and 3 on the LRU before page 1, so the read pass writes
        // them first (2, 3, 1, 4), where the kernel wrote 1, 2, 3, 4 in 10 of 10 runs.
        Assert.That(WithWhatIfs(faultInWindow: false), Is.EqualTo(new long[] { 8404, 8402, 8403, 8405 }));
    }
}
