using System.Text.RegularExpressions;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// A swap program's harness reads /proc/vmstat into <c>buf</c> before its first phase (swap_counts), so buf's first
/// page holds that text and each 256 KiB piece of a first-phase pwrite copies one page of data and 63 of zeros. On
/// Linux 6.18 tmpfs-swap-memcg's write phase wrote 36–37 pages to swap (pswpout; fixture, 20 runs) of the ~2,330 it
/// swapped out, and none when swap_counts zeroed that page after the read (0 in 3 of 3 runs against 37 as generated:
/// `flock /work/kernel.lock oracle/experiments/tmpfs-swap-memcg/vmstat-page.sh 3`, results/vmstat-page.txt): the file's
/// other pages are zero-filled, swap_writeout's is_folio_zero_filled puts them in the zeromap without I/O.
/// </summary>
[TestFixture]
public class KitVmstatPageTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    private static PhaseProgram Program(string name) =>
        PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == name);

    [Test]
    public void Each_piece_is_its_data_then_its_zeros()
    {
        // 600 KiB from 8 KiB in 256 KiB pieces with 4 KiB of data: pieces at 8,192, 270,336 and 532,480 (the last
        // 90,112 bytes long, 614,400 - 2 x 262,144).
        Assert.That(ScenarioGenerator.PwritePieces(8192, 600 << 10, 256 << 10, 4096), Is.EqualTo(new[]
        {
            "length: 4096, offset: 8192", "length: 258048, offset: 12288, zero: true",
            "length: 4096, offset: 270336", "length: 258048, offset: 274432, zero: true",
            "length: 4096, offset: 532480", "length: 86016, offset: 536576, zero: true",
        }));
        // A piece no longer than the data is data alone.
        Assert.That(ScenarioGenerator.PwritePieces(0, 6144, 4096, 4096), Is.EqualTo(new[] { "length: 4096, offset: 0", "length: 2048, offset: 4096" }));
    }

    [Test]
    public void A_swap_programs_first_pwrite_writes_one_data_page_a_piece()
    {
        string yaml = ScenarioGenerator.Generate(new ProgramPlan(Program("tmpfs-swap-memcg"))).Yaml;
        var writes = Regex.Matches(yaml, @"write: \{fd: 3, length: (\d+), offset: (\d+)(, zero: true)?\}").ToList();
        // 24 MiB in 96 pieces of 256 KiB: 96 data pages at 0, 256 KiB, ..., 95 x 256 KiB, each followed by 63 pages of zeros.
        Assert.That(writes, Has.Count.EqualTo(192));
        for (int k = 0; k < 96; k++)
        {
            Assert.That((writes[2 * k].Groups[1].Value, writes[2 * k].Groups[2].Value, writes[2 * k].Groups[3].Success), Is.EqualTo(("4096", (k * 262144L).ToString(), false)));
            Assert.That((writes[2 * k + 1].Groups[1].Value, writes[2 * k + 1].Groups[2].Value, writes[2 * k + 1].Groups[3].Success), Is.EqualTo(("258048", (k * 262144L + 4096).ToString(), true)));
        }
        // No vmstat read without swap: tmpfs-write-map's pwrite is one call of zeros.
        string noSwap = ScenarioGenerator.Generate(new ProgramPlan(Program("tmpfs-write-map"))).Yaml;
        Assert.That(noSwap, Does.Contain("write: {fd: 3, length: 2097152, offset: 0, zero: true}"));
    }

    [Test]
    public void The_write_phase_writes_the_swapped_data_pages_alone()
    {
        var plan = new ProgramPlan(Program("tmpfs-swap-memcg"));
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        string dir = Directory.CreateTempSubdirectory("ecsmem-kit-vmstat-").FullName;
        try
        {
            SimPhase write = SimulationRun.Run(plan, sc, dir)[0];
            // The oldest pages go first: the file's pages 0 .. n - 1 are on swap, the data pages among them are the
            // multiples of 64, ceil(n / 64) of them; the harness's pages are not written in this phase.
            long swapped = write.Vmas[0].SwapKb.Min / 4;
            Assert.That(swapped, Is.InRange(2250, 2400), "the phase swaps out ~9 MiB of the file");
            Assert.That(write.Pswp!["pswpout"], Is.EqualTo((swapped + 63) / 64));
            Assert.That(write.Pswp["pswpout"], Is.InRange(36, 37), "the kernel's 36–37");
            Assert.That(write.Pswp["pswpin"], Is.Zero);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
