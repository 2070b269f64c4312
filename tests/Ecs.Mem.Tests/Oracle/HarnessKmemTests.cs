using System.Text.RegularExpressions;
using EcsMem.Oracle;
using EcsMem.Scenarios;
using EcsMem.Systems.Machine;
using EcsMem.Systems.Memcontrol;
using EcsMem.Tests.Memcontrol;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kernel objects of the kit harness's real process under a memcg (HarnessLayout, MemcgController.PathLookup)
/// against what the kernel charged, recorded with `flock /work/kernel.lock oracle/experiments/kmem/run.sh 3
/// ra-reread-memcg` (oracle/experiments/kmem/results/ra-reread-memcg.summary.txt and .slab.txt, Linux 6.18.44).
/// </summary>
[TestFixture]
public class HarnessKmemTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void The_generated_ra_reread_process_holds_the_kernels_VMAs_page_tables_and_lookup_objects()
    {
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == "ra-reread-memcg");
        GeneratedScenario g = ScenarioGenerator.Generate(new ProgramPlan(p));
        string dir = Path.Combine(Path.GetTempPath(), "ecsmem-harness-kmem-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            string yaml = Path.Combine(dir, p.Name + ".yaml");
            File.WriteAllText(yaml, g.Yaml);
            File.WriteAllText(Path.Combine(dir, p.Name + ".lackey"), g.Trace);
            using SimMachine m = ScenarioLoader.Build(ScenarioParser.ParseFile(yaml));
            // The first phase_end's reads come after the BetweenPhases stores at the start of phase pass1.
            var open = Regex.Match(g.Yaml, @"- after: (\d+)\n    process: ra-reread-memcg\n    open: \{file: /proc/self/smaps,");
            Assert.That(open.Success, Is.True, "the scenario opens /proc/self/smaps once");
            long reads = long.Parse(open.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            HarnessFootprint h = HarnessFootprint.Of(p)!;
            MemcgTests.Advance(m, reads - h.BetweenPhases.Length);
            MemCgroup grp = m.Kernel.Memcg!.Find("oracle");
            var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
            // At `map`'s end: 24 vm_area_struct live (.slab.txt, phase map) and VmPTE 8 pages in every run (.summary.txt)
            // beside the order-1 PGD's 2. The scenario's libc and ld.so RELRO segments are mapped rw- and mprotected
            // read-only as ld.so does (HarnessLayout.Untouched), so they stay apart by VM_ACCOUNT as the kernel's do.
            Assert.That(mm.Mm.Vmas.Count, Is.EqualTo(24), "the kernel's vm_area_structs at map's end");
            Assert.That(grp.PageTables, Is.EqualTo(8 + 2), "VmPTE 8 pages + the 2-page PGD");
            long slab = grp.SlabReclaimable;
            MemcgTests.Advance(m, reads + 1);
            // harness.h's first phase_end opens /proc/self/smaps and smaps_rollup (the /proc/PID directory, 2 files: 3
            // proc_inode_cache 696 and 3 dentry 192) and 4 files of the group (4 inode_cache 624, 4 dentry); the
            // experiment's patched harness also read /proc/self/status and 3 more cgroup files: 4 / 7 / 11 live there.
            // Each object charges its slot + 8 bytes, all SLAB_RECLAIM_ACCOUNT.
            Assert.That(grp.SlabReclaimable - slab, Is.EqualTo((3 * (696 + 8)) + (4 * (624 + 8)) + (7 * (192 + 8))));
            Assert.That(InvariantChecker.Check(m), Is.Empty);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
