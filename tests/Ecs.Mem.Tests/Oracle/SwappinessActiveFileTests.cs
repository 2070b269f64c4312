using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kit's swappiness-60 (8 MiB of anon memory written, then a 16 MiB file read twice under a 16 MiB limit with swap)
/// against what Linux 6.18's tracepoints showed (oracle/experiments/file-activation, 5 runs): in the first file pass no
/// memcg stats flush happens, so reclaim never deactivates a file page (shrink_active_list took 0 file pages in every
/// run) and every page workingset_refault activated stays active — memory.stat's active_file at the pass's end equals
/// the refault activations plus shrink_folio_list's activations (3,201 + 15 = 3,216 and 3,242 + 15 = 3,257) — while the
/// anonymous memory is swapped out (6,412–6,920 kB). The harness's memory.stat read at the pass's end flushes, and
/// the second pass deactivates (3,510–4,768 file pages).
/// </summary>
public class SwappinessActiveFileTests
{
    [Test]
    public void TheFirstFilePassKeepsItsRefaultActivationsActive()
    {
        string oracle = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(oracle, "programs")).Single(x => x.Name == "swappiness-60");
        var fixtures = Fixtures.Load(Path.Combine(oracle, "fixtures.json"));
        string scratch = Path.Combine(Path.GetTempPath(), "ecsmem-activefile-" + Environment.ProcessId);
        try
        {
            ProgramResult r = Kit.Evaluate(p, fixtures, scratch);
            SimPhase file1 = r.Sim!.Single(ph => ph.Name == "file1"), file2 = r.Sim!.Single(ph => ph.Name == "file2");
            long Get(SimPhase ph, string key) => ph.Lru!.TryGetValue(key, out long v) ? v : 0;
            Assert.That(Get(file1, "workingset_activate_file"), Is.GreaterThan(0), "the pass refaults pages it read ahead");
            Assert.That(Get(file1, "pgdeactivate"), Is.Zero, "no flush in the pass: file may not deactivate");
            // Every activation is on the active list, but for the folios still in the CPU's lru_add batch (lru_add_fn puts
            // them there when it drains; session 11: the pass's last window now ends with 22 pages batched, 6 of them
            // refault activations).
            long activated = Get(file1, "workingset_activate_file") + Get(file1, "pgactivate");
            Assert.That(Get(file1, "active_file"), Is.InRange(activated - Get(file1, "lru_add_batched"), activated));
            Assert.That(file1.Vmas[0].SwapKb.Min, Is.GreaterThan(0), "the anonymous memory is swapped out during the pass (before: none)");
            Assert.That(Get(file2, "pgdeactivate"), Is.GreaterThan(0), "flushed at the phase's end: the next pass deactivates");
        }
        finally
        {
            if (Directory.Exists(scratch))
                Directory.Delete(scratch, true);
        }
    }
}
