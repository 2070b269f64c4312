using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using NUnit.Framework;

namespace EcsMem.Tests.Kernel;

/// <summary>
/// kernel/rseq.c: a task with a registered struct rseq that was switched out (rseq_preempt in prepare_task_switch,
/// a sleep on a swap-in's read included) has the area read (rseq_cs) and written (cpu_id) by
/// __rseq_handle_notify_resume before it returns to user space, faulting the TLS page in if it was swapped out.
/// </summary>
public sealed class RseqTests
{
    private const ulong Tls = 0xd0000000000, Region = 0x100000000000;
    private const int RegionPages = 512;

    /// <summary>Stores to the TLS page, to 512 region pages under a 256-page limit, then a load of the first region page.</summary>
    private static (long Faults, long Major, ulong TlsPte, long Accesses) Run(string? rseq, bool finalLoad = true, bool memcg = true)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ecsmem-rseq-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var trace = new System.Text.StringBuilder();
            trace.Append(" S ").Append(Tls.ToString("x")).Append(",8\n");
            for (int i = 0; i < RegionPages; i++)
                trace.Append(" S ").Append((Region + (ulong)i * 4096).ToString("x")).Append(",8\n");
            if (finalLoad)
                trace.Append(" L ").Append(Region.ToString("x")).Append(",8\n");
            File.WriteAllText(Path.Combine(dir, "t.lackey"), trace.ToString());
            // memcg: a 256-page group limit (its charges reclaim in the group: a switch, rseq_preempt); otherwise a
            // 1 MiB machine, whose reclaim is kswapd's and the global direct reclaim's (no switch of the task modelled).
            string yaml = (memcg
                ? "machine: {ram: 64M, swap: 16M, cgroup_version: 1}\n"
                    + "cgroups:\n  - {name: g, memory.max: 1M}\n"
                    + "processes:\n  - name: p\n    cgroup: g\n"
                : "machine: {ram: 1M, swap: 16M}\n"
                    + "processes:\n  - name: p\n")
                + (rseq is null ? "" : $"    rseq: {rseq}\n")
                + "    layout: {exec: {file: /bin/p, text: 16K, heap: 0}}\n"
                + "    workload: {trace: {path: t.lackey, format: lackey}}\n"
                + "timeline:\n"
                + $"  - after: 0\n    process: p\n    mmap: {{addr: 0x{Tls:x}, length: 4096, prot: rw-, flags: private, fixed: true}}\n"
                + $"  - after: 0\n    process: p\n    mmap: {{addr: 0x{Region:x}, length: {RegionPages * 4096}, prot: rw-, flags: private, fixed: true}}\n";
            string path = Path.Combine(dir, "s.yaml");
            File.WriteAllText(path, yaml);
            using var m = ScenarioLoader.Build(ScenarioParser.ParseFile(path));
            var k = m.Kernel;
            var e = k.Tasks.Processes[0];
            // Stop after the trace's last access (before the exit tears the address space down), its fault done.
            int accesses = RegionPages + (finalLoad ? 2 : 1);
            m.Access.AccessLimit = accesses;
            for (long guard = 0; !m.Finished && (k.World.Get<ProcessStats>(e).Accesses < accesses || m.Env.HasPendingWork
                || k.World.Get<Process>(e).RseqPending != 0) && guard < 10_000_000; guard++)
                m.Env.RunTick();
            ProcessStats st = k.World.Get<ProcessStats>(e);
            MmState mm = k.Tasks.MmOf(e);
            return (st.MinFlt + st.MajFlt, st.MajFlt, mm.Tables.Lookup(Tls), st.Accesses);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void AfterASwapInSleepTheKernelFaultsTheSwappedOutRseqPageBackIn()
    {
        var plain = Run(null);
        var rseq = Run("0xd0000000060");
        // The final load's swap-in sleeps: rseq_preempt, then on the way back get_user(rseq_cs) faults the TLS page
        // in if it is out and the cpu_id stores dirty it (the stores' memcg reclaims switch the task out too and fault
        // it back in after each reclaim that wrote it, so the count is not one more here: the exact one-more case is
        // WithoutAMemcgOnlyTheSwapInSleepSwitchesTheTaskOut).
        Assert.That(rseq.Faults, Is.GreaterThan(plain.Faults));
        AssertTheTlsPageWasFaultedBackIn(plain, rseq, RegionPages + 2L);
    }

    [Test]
    public void WithoutAMemcgOnlyTheSwapInSleepSwitchesTheTaskOut()
    {
        // The same trace on a 1 MiB machine: the reclaim is global (no rseq_preempt for it), so the only switch is the
        // final load's sleep on its swap-in read, and the TLS page (the oldest page, swapped out by then) is faulted in
        // once: exactly one fault more than without rseq.
        var plain = Run(null, memcg: false);
        var rseq = Run("0xd0000000060", memcg: false);
        Assert.That(plain.Major, Is.GreaterThanOrEqualTo(1), "the final load is a swap-in (a sleep on its read)");
        Assert.That(rseq.Faults, Is.EqualTo(plain.Faults + 1));
        AssertTheTlsPageWasFaultedBackIn(plain, rseq, RegionPages + 2L);
    }

    [Test]
    public void AMemcgDirectReclaimSwitchesTheTaskOutSoItsRseqFaultsTheTlsPageBackIn()
    {
        // Stores only: 513 pages under a 256-page limit, so the stores' charges reclaim in the group, and the TLS page
        // (the oldest) is written out by one of them. No store sleeps on a read.
        var plain = Run(null, finalLoad: false);
        var rseq = Run("0xd0000000060", finalLoad: false);
        Assert.That(plain.Major, Is.EqualTo(0), "no swap-in: nothing sleeps on a read");
        Assert.That(plain.Faults, Is.EqualTo(1 + RegionPages), "each page's first touch, nothing touched twice");
        // Linux 6.18 switches the charging task out inside its memcg reclaim (the kworkers it wakes preempt it; 6 of 6
        // traced runs, oracle/experiments/sw60-harness-reclaim/results/rseq-reclaim.txt), so rseq_preempt: on the way
        // back get_user(rseq_cs) faults the TLS page in, and the cpu_id stores leave it mapped and dirty at the end.
        Assert.That(rseq.Faults, Is.GreaterThan(plain.Faults), "the rseq area's faults come on top of the trace's");
        AssertTheTlsPageWasFaultedBackIn(plain, rseq, RegionPages + 1L);
    }

    /// <summary>
    /// What every case shares: without rseq the TLS page (the oldest) was reclaimed and nothing touched it again; with
    /// rseq it was faulted back in and the cpu_id stores left it writable and dirty; the kernel's accesses are not the
    /// task's, so both runs count the trace's <paramref name="accesses"/>.
    /// </summary>
    private static void AssertTheTlsPageWasFaultedBackIn(
        (long Faults, long Major, ulong TlsPte, long Accesses) plain,
        (long Faults, long Major, ulong TlsPte, long Accesses) rseq, long accesses)
    {
        Assert.That(plain.TlsPte & Pte.PresentBit, Is.EqualTo(0UL), "without rseq the TLS page stays swapped out");
        Assert.That(rseq.TlsPte & (Pte.PresentBit | Pte.RwBit | Pte.DirtyBit), Is.EqualTo(Pte.PresentBit | Pte.RwBit | Pte.DirtyBit));
        Assert.That(rseq.Accesses, Is.EqualTo(plain.Accesses).And.EqualTo(accesses));
    }

    [Test]
    public void ARseqAreaMustBeAligned()
    {
        var ex = Assert.Throws<EcsMem.Diagnostics.InputException>(() => ScenarioParser.Parse(new StringReader(
            "processes:\n  - name: p\n    rseq: 0x1010\n    workload: {generator: \"seq:count=1,pages=1\"}\n"), "test.yaml"));
        Assert.That(ex!.Message, Does.Contain("test.yaml:3").And.Contain("processes[0].rseq must be a non-zero address aligned to 32 bytes"));
    }

    [Test]
    public void TheWriterKeepsTheRseqArea()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(
            "processes:\n  - name: p\n    rseq: 0x7ffff7dd1060\n    workload: {generator: \"seq:count=1,pages=1\"}\n"), "test.yaml");
        Assert.That(s.Processes[0].Rseq, Is.EqualTo(0x7ffff7dd1060UL));
        Scenario again = ScenarioParser.Parse(new StringReader(ScenarioWriter.ToYaml(s)), "again.yaml");
        Assert.That(again.Processes[0].Rseq, Is.EqualTo(0x7ffff7dd1060UL));
    }
}
