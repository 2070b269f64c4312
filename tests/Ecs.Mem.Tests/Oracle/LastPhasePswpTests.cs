using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// Where the kit reads a swap program's last pswpin and pswpout: harness.h's phase_end reads /proc/vmstat last of its
/// files, after the smaps slurp (<c>buf</c>'s pages, copy_to_user's kernel-mode faults) and in_regions (<c>reg</c>'s page),
/// so the last phase's stretch holds their swap-ins as every other phase's does. Recorded on Linux 6.18 with
/// <c>flock /work/kernel.lock oracle/experiments/pswp-harness/run.sh N OUT PROGRAM</c> and windows.py, whose stretches end
/// at that openat of /proc/vmstat: swap-anon-read's read stretch (results/session25.swap-anon-read.txt, 6 runs) holds
/// <c>reg</c>'s window in 6 runs and <c>buf</c>'s in 5, pswpin 8,212–8,225; swap-anon-write's write stretch 8,212–8,232
/// and thp-swpout's 8,210–8,219 (results/kernel.txt, 10 runs each). Read at the last phase's snapshot instead (before the
/// slurps) thp-swpout's write was 8,206 and swap-anon-write's 8,218.
/// </summary>
[TestFixture]
[NonParallelizable]
public class LastPhasePswpTests
{
    private static long LastPswpin(string name)
    {
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(x => x.Name == name);
        var plan = new ProgramPlan(p);
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        string dir = Directory.CreateTempSubdirectory("ecsmem-lastpswp-").FullName;
        try
        {
            IReadOnlyList<SimPhase> phases = SimulationRun.Run(plan, sc, dir);
            return phases[^1].Pswp!["pswpin"];
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase("swap-anon-read", 8212, 8225)]
    [TestCase("swap-anon-write", 8212, 8232)]
    [TestCase("thp-swpout", 8210, 8219)]
    public void The_last_phases_pswpin_is_read_where_the_harness_reads_vmstat(string name, long min, long max) =>
        Assert.That(LastPswpin(name), Is.InRange(min, max), "the traced kernel runs' last stretch");
}
