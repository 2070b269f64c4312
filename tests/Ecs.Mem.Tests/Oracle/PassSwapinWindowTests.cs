using System.Text.Json;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The swap-in windows a swap program's second pass starts with, as the kit runs it (its previous-run pass included),
/// against the kernel's. swap_cluster_readahead sizes each window from swapin_nr_pages' global statics, which the fill's
/// phase_end swap-ins of the harness's pages leave; the pass's first faults then read 1, 1, 2 … pages while the statics
/// grow back to 8. Recorded on Linux 6.18 with <c>flock /work/kernel.lock oracle/experiments/pswp-harness/run.sh 10 OUT
/// swap-anon-write swap-fork-shared thp-swpout thp-swpout-fallback</c> and seq.py (each fault's window: the order-0 pages
/// it allocates before the next fault; results/seq.kernel.txt): thp-swpout 8 of 10 runs, thp-swpout-fallback 9 of 10,
/// swap-anon-write 7 of 10 (the others start from a swap-cache hit or a window of 4). With the stack array's
/// signal-frame page written last (<see cref="HarnessFootprint.SignalFrameLast"/>, slot 213 as measured) the harness's
/// pages take the kernel's slots and EcsMem's windows are these; with the array in address order thp-swpout's pass read
/// 2, 2, 4 (one major fault fewer) and swap-anon-write's found its first two pages in the swap cache.
/// </summary>
[TestFixture]
[NonParallelizable]
public class PassSwapinWindowTests
{
    private const ulong Region = 0x1000_0000_0000;

    /// <summary>
    /// The program region's first <paramref name="count"/> swap reads after the first phase_end's smaps read: each fault's
    /// page index in the region and the pages its swap_in events (which come before the fault they serve) read.
    /// </summary>
    private static List<(long Page, int Read)> FirstPassReads(string name, int count)
    {
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        PhaseProgram program = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(p => p.Name == name);
        var plan = new ProgramPlan(program);
        GeneratedScenario sc = ScenarioGenerator.Generate(plan);
        string dir = Directory.CreateTempSubdirectory("ecsmem-passra-").FullName;
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EVENTS", dir);
            SimulationRun.Run(plan, sc, Path.Combine(dir, "run"));
            var reads = new List<(long, int)>();
            int smapsReads = 0, pending = 0;
            foreach (string line in File.ReadLines(Path.Combine(dir, name + ".jsonl")))
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement e = doc.RootElement;
                string kind = e.GetProperty("kind").GetString()!;
                if (kind == "syscall" && e.GetProperty("strace").GetString()!.Contains("\"/proc/self/smaps\"", StringComparison.Ordinal))
                    smapsReads++;
                else if (kind == "swap_in")
                    pending++;
                else if (kind == "fault")
                {
                    ulong va = Convert.ToUInt64(e.GetProperty("address").GetString(), 16);
                    if (smapsReads == 1 && pending > 0 && va >= Region && va < Region + (32UL << 20))
                        reads.Add(((long)((va - Region) >> 12), pending));
                    pending = 0;
                    if (reads.Count == count)
                        break;
                }
            }
            return reads;
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_EVENTS", null);
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase("thp-swpout", new long[] { 0, 1, 2, 4, 8 }, new[] { 1, 1, 2, 4, 8 })]
    [TestCase("thp-swpout-fallback", new long[] { 0, 1, 2, 3, 5, 7, 11 }, new[] { 1, 1, 1, 2, 2, 4, 4 })]
    [TestCase("swap-anon-write", new long[] { 0, 1, 2, 4, 6, 10 }, new[] { 1, 1, 2, 2, 4, 8 })]
    public void The_second_pass_starts_with_the_kernels_swapin_windows(string name, long[] pages, int[] read)
    {
        List<(long Page, int Read)> got = FirstPassReads(name, pages.Length);
        Assert.Multiple(() =>
        {
            Assert.That(got.Select(r => r.Page), Is.EqualTo(pages), "the faulting pages");
            Assert.That(got.Select(r => r.Read), Is.EqualTo(read), "the pages each reads");
        });
    }
}
