using System.Text.RegularExpressions;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// <c>ECSMEM_ORACLE_EXEC_CHAIN_TABLES</c> (default 1 since session 25) with <c>ECSMEM_ORACLE_EXEC_CHAIN_ALIGN</c> (default 1): the exec
/// chain's page tables freed at the same point of the program's own run as the kernel's median run
/// (oracle/experiments/exec-chain-gp/results/session23.gp.txt and session24.align.txt), not at one clock ratio.
/// </summary>
[NonParallelizable]
public class ExecChainAlignTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void The_free_is_the_fraction_of_the_phase_counted_from_now()
    {
        // Phase from 1,000 to 3,000 cycles, a quarter in: 1,500; from 100 that is 1,400 cycles away.
        Assert.That(HarnessFootprint.ExecChainAlignedCycles(100, 1_000, 3_000, 0.25), Is.EqualTo(1_400UL));
        Assert.That(HarnessFootprint.ExecChainAlignedCycles(0, 0, 1_000, 0.0), Is.EqualTo(0UL));
        // Already past: at once.
        Assert.That(HarnessFootprint.ExecChainAlignedCycles(2_000, 1_000, 3_000, 0.25), Is.EqualTo(0UL));
    }

    [Test]
    public void The_table_is_the_recorded_runs_by_hand()
    {
        // session23.gp.txt, getrusage entries: warm_up's phase_start, then each phase's phase_start and phase_end.
        // swap-anon-read 1 (median of 0.205, 0.196, 0.224): 2.5 | fill 2.6 .. 78.2; free at 18.1 ms.
        Assert.That(HarnessFootprint.ExecChainFreeAt["swap-anon-read"],
            Is.EqualTo(("fill", Math.Round((18.1 - 2.6) / (78.2 - 2.6), 3))));
        // swap-anon-write 1 (0.151, 0.187, 0.148): 0.7 | fill 0.8 .. 90.3; free at 14.3 ms.
        Assert.That(HarnessFootprint.ExecChainFreeAt["swap-anon-write"],
            Is.EqualTo(("fill", Math.Round((14.3 - 0.8) / (90.3 - 0.8), 3))));
        // swappiness-60 1 (file1 0.070; file1 0.109; anon 0.913, i.e. before both): 2.7 | map 10.5 10.5 | anon 10.9 14.7
        // | file1 15.2 .. 61.2; free at 18.4 ms.
        Assert.That(HarnessFootprint.ExecChainFreeAt["swappiness-60"],
            Is.EqualTo(("file1", Math.Round((18.4 - 15.2) / (61.2 - 15.2), 3))));
        // memcg-oom-kill keeps the clock mapped by its own kill.
        Assert.That(HarnessFootprint.ExecChainFreeAt.ContainsKey("memcg-oom-kill"), Is.False);
    }

    [Test]
    public void Every_listed_phase_is_one_of_its_programs()
    {
        var programs = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).ToDictionary(p => p.Name);
        foreach ((string name, (string phase, double fraction)) in HarnessFootprint.ExecChainFreeAt)
        {
            Assert.That(programs[name].Phases.Select(p => p.Name), Does.Contain(phase), name);
            Assert.That(fraction, Is.InRange(0.0, 1.0), name);
        }
    }

    private static (long Pswpin, long PgpgoutExec) ReadFigures(string align)
    {
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == "tmpfs-swap-memcg");
        var plan = new ProgramPlan(p);
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        string dir = Directory.CreateTempSubdirectory("ecsmem-kit-chainalign-").FullName;
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_TABLES", "1");
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_ALIGN", align);
            SimPhase read = SimulationRun.Run(plan, sc, dir).Single(x => x.Name == "read");
            return (read.Pswp!["pswpin"], read.Memcg!["pgpgout_exec"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_TABLES", null);
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_ALIGN", null);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long FillPgpgout(bool reads)
    {
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == "swap-anon-read");
        string dir = Directory.CreateTempSubdirectory("ecsmem-kit-chainfill-").FullName;
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_TABLES", "1");
            var plan = new ProgramPlan(p);
            GeneratedScenario sc = ScenarioGenerator.Generate(plan);
            // Without the reads: the scenario's opens and closes (phase_end's files, its only ones) taken out.
            if (!reads)
                sc = sc with { Yaml = Regex.Replace(sc.Yaml, @"  - after: \d+\n    process: swap-anon-read\n    (open|close): \{[^\n]*\}\n", "") };
            Assert.That(sc.Yaml.Contains("open: {file: /sys/fs/cgroup/memory/oracle/memory.stat", StringComparison.Ordinal), Is.EqualTo(reads));
            IReadOnlyList<SimPhase> phases = SimulationRun.Run(plan, sc, dir);
            return phases.Single(x => x.Name == "fill").Memcg!["pgpgout_exec"];
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EXEC_CHAIN_TABLES", null);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Swap_anon_reads_fill_reclaims_for_its_phase_ends_reads_once_the_tables_are_freed()
    {
        // fixtures.json: the fill's pgpgout since exec 4,380–4,445 (40 quiet runs). With the tables charged and freed in
        // the fill, EcsMem's fill ends at its limit; without the reads' kernel objects its phase_end reclaims nothing and
        // reads 4,374 (session 24's gap). The kernel's phase_end reads charge a filp, a seq_file and a 4 KiB buffer each
        // and reclaim for them at the limit (oracle/experiments/phase-end-charge: 6 of 32 phase_ends, 33–41 pages): one
        // reclaim here brings the fill inside the kernel's range.
        long without = FillPgpgout(reads: false), with = FillPgpgout(reads: true);
        Assert.That(without, Is.LessThan(4380));
        Assert.That(with, Is.InRange(4380, 4445));
        Assert.That(with - without, Is.InRange(32, 63), "one reclaim round: SWAP_CLUSTER_MAX at least, less than two");
    }

    [Test]
    public void Tmpfs_swap_memcgs_read_comes_into_the_kernels_range_when_aligned()
    {
        // fixtures.json, the read over the recorded runs: pswpin 99-113, memory.stat pgpgout since exec 8,466-8,537. With
        // the clock ratio the free comes early in the write (2.15 ms) and the read's pgpgout is below the kernel's least
        // (8,463 with session 32's defaults; its pswpin, 98 before them, is 99 since); at 37.7 % of the write, as the
        // kernel's median run, both are inside.
        PhaseFigures k = Fixtures.Load(Path.Combine(OracleDir, "fixtures.json")).Find("tmpfs-swap-memcg")!.Phases.Single(x => x.Name == "read");
        Spread pswpin = k.Pswp["pswpin"], pgpgout = k.PgpgExec["pgpgout"];
        Assert.That((pswpin, pgpgout), Is.EqualTo((new Spread(99, 113), new Spread(8466, 8537))), "the fixture's spreads");
        (_, long clockPgpgout) = ReadFigures("0");
        (long alignedPswpin, long alignedPgpgout) = ReadFigures("1");
        Assert.Multiple(() =>
        {
            Assert.That(clockPgpgout, Is.LessThan(pgpgout.Min), "unaligned: the read's pgpgout below the kernel's");
            Assert.That(pswpin.Contains(alignedPswpin), $"aligned pswpin {alignedPswpin}");
            Assert.That(pgpgout.Contains(alignedPgpgout), $"aligned pgpgout since exec {alignedPgpgout}");
            Assert.That(alignedPgpgout - clockPgpgout, Is.InRange(1, 31), "less than one reclaim round apart");
        });
    }
}
