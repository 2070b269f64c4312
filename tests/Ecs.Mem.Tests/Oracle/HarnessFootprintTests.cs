using System.Text.RegularExpressions;
using EcsMem.Oracle;

namespace EcsMem.Tests.Oracle;

/// <summary>
/// The kit harness's footprint under a memcg (oracle/README.md, "The harness's footprint"): its layout and order from
/// harness.h, and the pages phase_end leaves resident against what the recordings' smaps_rollup says.
/// </summary>
[TestFixture]
public class HarnessFootprintTests
{
    private static readonly string OracleDir = Kit.OracleDir(TestContext.CurrentContext.TestDirectory);

    [Test]
    public void The_prelude_writes_each_page_once_in_the_C_programs_order()
    {
        // 213 pages (852 kB): 21 start-up pages, warm_up's 64 stack pages (256 KiB), the bss's 128 (buf and out, 256 KiB each).
        HarnessFootprint h = HarnessFootprint.FromTotal(213, emptyEnvironment: false);
        Assert.That(h.Pages, Is.EqualTo(213));
        Assert.That(h.Prelude, Is.EquivalentTo(Enumerable.Range(0, 213).Select(i => (long)i)), "every page once");
        // Start-up pages 0-20 in the kernel's LRU order (The_start_up_pages_reach_the_lru_in_the_kernels_order) and the
        // stack array 22-84 in address order; then warm_up's loop over out (bss 63-126, pages 148-211), its loop over buf
        // (bss 0-62, pages 85-147), reg's page (bss 127, page 212) and last the array's lowest page (21, raise(SIGBUS)'s
        // signal frame): the slot order the kernel's pagemap showed (slots 85-148 out, 149-211 buf, 212 reg, 213 the
        // signal frame's page; oracle/experiments/stack-top).
        long[] expected = [.. HarnessFootprint.StartupOrder.Where(i => i < 21), .. Enumerable.Range(22, 63).Select(i => (long)i),
            .. Enumerable.Range(148, 64).Select(i => (long)i), .. Enumerable.Range(85, 63).Select(i => (long)i), 212, 21];
        Assert.That(h.Prelude, Is.EqualTo(expected));
    }

    [Test]
    public void The_start_up_pages_reach_the_lru_in_the_kernels_order()
    {
        // oracle/experiments/stack-top/results/session16.txt (`run.sh swap-anon-write 3`, run 1): the swap slots the fill's
        // reclaim gave the start-up pages, which is the order they reached the LRU. The roles each real page stands for
        // (HarnessLayout; phase_end's libc pages are RELRO 1 and 3, rw 0 and 1, bss 0 and 6, oracle/experiments/harness-resident):
        var role = new Dictionary<string, long>
        {
            ["data"] = HarnessFootprint.DataPage,
            ["ldrw1"] = 11,
            ["ldrw0"] = 12,
            ["ldRELRO1"] = 13,
            ["ldRELRO0"] = 16,
            ["binRELRO"] = 14,
            ["ldscratch0"] = 15,
            ["st64"] = HarnessFootprint.MainStackPage,
            ["tls0"] = 2,
            ["tls1"] = HarnessFootprint.RseqPage,
            ["lcrw1"] = 4,
            ["lcRELRO3"] = 5,
            ["lcRELRO1"] = 6,
            ["lcrw0"] = 7,
            ["lcbss6"] = 8,
            ["lcbss0"] = 9,
            ["lcRELRO0"] = 17,
            ["lcRELRO2"] = 18,
            ["lcbss5"] = 19,
            ["lcbss12"] = 20,
            ["lcbss4"] = 21,
        };
        string line = File.ReadLines(Path.Combine(OracleDir, "experiments", "stack-top", "results", "session16.txt"))
            .First(l => l.TrimStart().StartsWith("A1 slots:", StringComparison.Ordinal));
        var bySlot = new SortedDictionary<int, string>();
        foreach (string item in line.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = item.Split(':');
            if (!kv[0].Contains('-', StringComparison.Ordinal) && role.ContainsKey(kv[1]))
                bySlot[int.Parse(kv[0], System.Globalization.CultureInfo.InvariantCulture)] = kv[1];
        }
        // Slot 12 is empty at A1: the rseq TLS page took it and was swapped in again by the fill (rseq's cpu_id stores).
        Assert.That(bySlot.Keys, Is.EqualTo(Enumerable.Range(1, 21).Where(i => i != 12)));
        bySlot[12] = "tls1";
        // The top stack page (exec's, never swapped: no slot) first, then the 21 in slot order; 22 start-up pages in all.
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        long[] kernel = [HarnessFootprint.TopStackPage, .. bySlot.Values.Select(n => role[n])];
        Assert.That(h.Prelude.Take(22), Is.EqualTo(kernel));
        Assert.That(h.PageAddr(HarnessFootprint.TopStackPage), Is.EqualTo(0x7fff_ffff_e000UL), "the stack's top page");
    }

    [Test]
    [NonParallelizable]
    public void The_zero_filled_pages_are_the_ones_the_kernels_fill_leaves_unwritten()
    {
        // Linux 6.18 (oracle/experiments/thp-swap-memcg/results/kit.session15-thpfb.txt, every run): the fill writes swap
        // slots 1-23, 85 and 212-213 to the device; the zero-filled pages go to the zeromap unwritten. Which page each slot
        // holds: stack-top/results/session16.txt's A1 slots (22-84 the stack array's st1..st63 above the signal frame's st0
        // at 213, 85-148 bss63..126, 149-211 bss0..62, 212 bss127). So st0-st2, outn's bss63 and reg's bss127 hold data, the
        // other 61 + 126 are zero-filled (swpout_zero +187): the default since session 32 (ECSMEM_ORACLE_ZERO_RUNS).
        string kit = File.ReadAllText(Path.Combine(OracleDir, "experiments", "thp-swap-memcg", "results", "kit.session15-thpfb.txt"));
        string a1 = File.ReadLines(Path.Combine(OracleDir, "experiments", "stack-top", "results", "session16.txt"))
            .First(l => l.TrimStart().StartsWith("A1 slots:", StringComparison.Ordinal));
        Assert.That(kit, Does.Contain("W slots 1-23, W slot 85, W slots 212.. (212 reg, 213 the signal frame's stack page"));
        HashSet<int> written = [.. Enumerable.Range(1, 23), 85, 212, 213];
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        long bss = h.Pages - HarnessFootprint.BssPages, stack = bss - HarnessFootprint.WarmUpStackPages;
        // The kernel's zero-filled pages as the footprint's indices, from the A1 map's "slots:role first..last" runs.
        var kernelZero = new HashSet<long>();
        foreach (Match m in Regex.Matches(a1, @" (\d+)(?:-(\d+))?:(st|bss)(\d+)(?:\.\.(\d+))?"))
        {
            int slot = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            int first = int.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
            int last = m.Groups[5].Success ? int.Parse(m.Groups[5].Value, System.Globalization.CultureInfo.InvariantCulture) : first;
            long base0 = m.Groups[3].Value == "st" ? stack : bss;
            for (int page = first; page <= last; page++, slot++)
            {
                // st64 is main's stack page (a start-up page), not the array's.
                if (m.Groups[3].Value == "st" && page >= HarnessFootprint.WarmUpStackPages)
                    continue;
                if (!written.Contains(slot))
                    kernelZero.Add(base0 + page);
            }
        }
        HashSet<long> Zero() => h.ZeroRuns.SelectMany(r => Enumerable.Range(0, (int)r.Count).Select(k => r.First + k)).ToHashSet();
        Assert.That(kernelZero, Has.Count.EqualTo(61 + 126), "the A1 map parsed: st3..63 and the bss less bss63 and bss127, the 187 swpout_zero");
        Assert.That(Zero(), Is.EquivalentTo(kernelZero), "the default");
        try
        {
            // The stand-in before session 32: the array's top 4 pages hold data, the signal frame's and outn's do not.
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_ZERO_RUNS", "0");
            HashSet<long> standIn = Zero();
            Assert.That(standIn, Does.Contain(stack).And.Contain(bss + HarnessFootprint.OutnPage).And.Not.Contain(stack + HarnessFootprint.WarmUpStackPages - 1));
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_OUTN_DATA", "1");
            Assert.That(Zero(), Does.Not.Contain(bss + HarnessFootprint.OutnPage), "the what-if: outn's page, slot 85, holds data");
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_ZERO_RUNS", null);
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_OUTN_DATA", null);
        }
    }

    [Test]
    public void Phase_end_leaves_as_many_harness_pages_resident_as_the_kernels_rollup_shows()
    {
        // swap-anon-read: after each phase_end every harness page it did not touch is swapped out (the fill and the
        // read pass push them out), so the harness's resident pages are the rollup's Anonymous less the region's.
        var fixtures = Fixtures.Load(Path.Combine(OracleDir, "fixtures.json"));
        PhaseProgram p = PhaseProgram.LoadAll(Path.Combine(OracleDir, "programs")).Single(x => x.Name == "swap-anon-read");
        HarnessFootprint h = HarnessFootprint.Of(p)!;
        ProgramFigures f = fixtures.Find("swap-anon-read")!;
        // Re-recorded in session 14 with today's harness: 856 kB (the rollup's Anonymous + Swap less the region's, in the
        // fill) in every one of its 20 runs, where the 5 runs before harness.h gave 852.
        Assert.That(f.HarnessKb, Is.Not.Null.And.All.EqualTo(856L), "the runs' harness footprint");
        Assert.That(h.Pages, Is.EqualTo(856 / 4), "the rollup's Anonymous + Swap less the region's in the fill");
        // The harness's resident kB per run: the rollup's Anonymous less the region's, both of one run (the fixture keeps
        // only each figure's spread, whose ends come from different runs), in
        // oracle/experiments/harness-per-run/results/swap-anon-read-session14.txt: 88 kB after the fill in all 20 runs,
        // 68 kB after the read in 17 (3 read the rollup and the VMA's smaps around a swap-in readahead). record.sh ran
        // them with an empty environment, where phase_end's frames stay in two stack pages (the fixture's per-run
        // footprints say so: Of's emptyEnvironment).
        string[] rows = File.ReadAllLines(Path.Combine(OracleDir, "experiments", "harness-per-run", "results", "swap-anon-read-session14.txt"))
            .Where(l => l.Length > 0 && char.IsDigit(l.TrimStart()[0])).ToArray();
        Assert.That(rows, Has.Length.EqualTo(20));
        for (int i = 0; i < f.Phases.Count; i++)
        {
            long residentKb = rows.Select(r => long.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1 + (2 * i)], System.Globalization.CultureInfo.InvariantCulture))
                .GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key;
            Assert.That(Resident(h, i == 0) * 4, Is.EqualTo(residentKb), f.Phases[i].Name);
        }
    }

    [Test]
    public void A_later_phase_boundary_only_reads_libcs_pages_and_regs()
    {
        // oracle/experiments/harness-dirty/results/session15.txt (Linux 6.18, 6 runs): a boundary between two later
        // phases writes the .data page, bss 0-4, outn's page, both TLS pages and 3 stack pages, and only reads libc's 4
        // file-backed data pages, 2 of libc's bss pages and reg's page. In the model's roles (213 pages: start-up 0-20,
        // bss 85-212): window 0 (stack) and 1 (.data), emit 2 (TLS), 3 (stack), 4-9 (libc's 6), 10 (rseq TLS),
        // deeper 16 (stack), buf's bss 0-3 (85-88), outn (148), reg (212).
        HarnessFootprint h = HarnessFootprint.FromTotal(213, emptyEnvironment: false);
        long[] touched = [.. h.PhaseEnd, .. h.AfterWindow, .. h.LaterBeforeSnapshot, .. h.BetweenPhases, .. h.PhaseStart];
        Assert.Multiple(() =>
        {
            Assert.That(touched.Where(h.PhaseEndLoads).Distinct(), Is.EquivalentTo(new long[] { 4, 5, 6, 7, 8, 9, 212 }),
                "the 7 a later boundary only reads");
            Assert.That(touched.Where(i => !h.PhaseEndLoads(i)).Distinct(), Is.EquivalentTo(new long[] { 0, 1, 2, 3, 10, 148, 16, 85, 86, 87, 88 }),
                "the 11 written: 12 on Linux, whose smaps fills a fifth bss page of buf in this probe");
        });
    }

    [Test]
    public void Phase_end_makes_the_kernels_first_accesses()
    {
        // Recorded on Linux 6.18 with `flock /work/kernel.lock oracle/experiments/harness-stores/run.sh OUT <the 15 memcg
        // programs>` and faults.py (oracle/experiments/harness-stores/results/first-faults.txt): in the first phase_end of
        // swap-anon-write, before smaps is read, read faults (error code 0x4) on outn's page, the TLS page of struct pthread
        // (vsnprintf's locale load), libc's 6 data pages, and in the lazy binding that follows on the binary's RELRO page
        // (PLT0's GOT[1]), ld.so's RELRO page, ld.so's rw page 1 (_dl_fixup+16) and its scratch page (_dl_fixup+173); one
        // write fault (0x6) on ld.so's rw page 0 (_dl_lookup_symbol_x). In the model's roles (214 pages, empty environment:
        // start-up 0-21, bss 86-213): outn 149, TLS 2, libc 4-9, binary RELRO 14, ld.so RELRO 13, rw 11 and 12, scratch 15.
        // Later in the smaps segment the TLS page is written (__libc_cleanup_push_defer, a write fault 0x7 after a fork).
        const long outn = 86 + HarnessFootprint.OutnPage;
        try
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "1");
            HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
            var first = new Dictionary<long, bool>();
            foreach (var (page, store) in h.PhaseEndAccesses(h.FirstBeforeSnapshot, loadsFirst: true))
                first.TryAdd(page, store);
            Assert.Multiple(() =>
            {
                Assert.That(first.Where(kv => !kv.Value).Select(kv => kv.Key), Is.EquivalentTo(new long[] { outn, 2, 4, 5, 6, 7, 8, 9, 14, 13, 11, 15 }));
                Assert.That(first[12], Is.True, "ld.so's rw page 0: the binding's one store");
                Assert.That(h.PhaseEndAccesses(h.FirstBeforeSnapshot, loadsFirst: true).Where(a => a.Page == outn).Select(a => a.Store),
                    Is.EqualTo(new[] { false, true }), "outn read, then the record written behind it");
                Assert.That(h.PhaseEndAccesses(h.BetweenPhases, loadsFirst: false), Does.Contain((2L, true)), "sscanf's store into struct pthread");
            });
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", "0");
            HarnessFootprint old = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
            Assert.That(old.PhaseEndAccesses(old.FirstBeforeSnapshot, loadsFirst: true).Where(a => a.Page is 2 or 11 or 15 or outn).All(a => a.Store),
                "the what-if =0: session 17's stores");
        }
        finally
        {
            Environment.SetEnvironmentVariable("ECSMEM_ORACLE_PHASE_END_LOADS", null);
        }
    }

    [Test]
    public void The_third_stack_page_is_phase_ends_only_under_a_shells_environment()
    {
        // oracle/experiments/harness-resident/results/session15.txt (flock /work/kernel.lock .../run.sh, root): today's
        // harness stopped right after each phase_end's rollup read; per run the harness pages present in pagemap and the
        // kit's figure from the same run (rollup Anonymous less the region's). Empty environment (env -i, record.sh):
        // 22 and 17 pages, [stack] pages 64-65; 1.5 or 3 KB more of it: 23 and 18, pages 63-65.
        string[] rows = File.ReadAllLines(Path.Combine(OracleDir, "experiments", "harness-resident", "results", "session15.txt"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && char.IsDigit(l[0]) && l.Contains(" rollup.c ", StringComparison.Ordinal)).ToArray();
        Assert.That(rows, Has.Length.GreaterThanOrEqualTo(4));
        foreach (string row in rows)
        {
            string[] c = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Col(int k) => long.Parse(c[k], System.Globalization.CultureInfo.InvariantCulture);
            HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: Col(2) == 0);
            Assert.Multiple(() =>
            {
                Assert.That(Resident(h, first: true), Is.EqualTo(Col(3)), row + ": after the fill (pagemap)");
                Assert.That(Resident(h, first: false), Is.EqualTo(Col(5)), row + ": after the read (pagemap)");
                Assert.That(Resident(h, first: true) * 4, Is.EqualTo(Col(7)), row + ": after the fill (rollup)");
                Assert.That(Resident(h, first: false) * 4, Is.EqualTo(Col(8)), row + ": after the read (rollup)");
            });
        }
        Assert.That(rows.Select(r => r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]).Distinct().Count(), Is.GreaterThan(1), "both environments measured");
    }

    [Test]
    public void Fork_settle_stores_to_the_pages_the_kernels_parent_copied()
    {
        // oracle/experiments/harness-resident/results/fork-exclusive.txt (flock /work/kernel.lock .../forkrun.sh 2): after
        // fork_settle the parent's [stack] VMA (0x7ffffffbd000-0x7ffffffff000) has pages 49-65 exclusively mapped, 65
        // (the top page) already right after the fork, and its .data page; bss 63 (outn) and 127 (reg) still shared.
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        const ulong stackVma = 0x7fff_fffb_d000;
        ulong[] stack = [.. Enumerable.Range(49, 16).Select(k => stackVma + ((ulong)k * 4096))];
        ulong[] settle = [.. h.ForkSettle.Skip(HarnessFootprint.ForkReturnPages.Length).Select(h.PageAddr)];
        Assert.Multiple(() =>
        {
            Assert.That(settle.Where(a => a >= stackVma), Is.EquivalentTo(stack), "the 16 stack pages below the top one");
            Assert.That(settle.Where(a => a < stackVma), Is.EqualTo(new[] { h.PageAddr(HarnessFootprint.DataPage) }), "the .data page, last");
            Assert.That(h.ForkSettle, Does.Not.Contain(h.Pages - 1).And.Not.Contain(h.Pages - HarnessFootprint.BssPages + HarnessFootprint.OutnPage));
        });
    }

    [Test]
    public void After_a_fork_the_stack_top_tls_ldso_data_and_data_pages_are_copied()
    {
        // The same recording, stop F0 (right after do_fork, before fork_settle), both runs: the harness pages exclusively
        // mapped in both tasks (each has a page of its own: one of them stored) are the binary's .data page, the 2 TLS
        // pages (0x7ffff7dd0000-0x7ffff7dd2000), ld.so's 2 rw pages and [stack] page 65 (0x7fff_ffff_e000): 6, and the child
        // also has libc's bss page 4, which the parent never had. Parent's and child's stores after the fork together are
        // those pages. The model puts ld.so's pages in libc's bss area, so those two are checked by role: the "binding"
        // pages phase_end writes (not the read-only RELRO ones it only reads).
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        long[] ret = [.. h.ForkSettle.Take(HarnessFootprint.ForkReturnPages.Length)];
        ulong[] addr = [.. ret.Select(h.PageAddr).Concat(h.ForkChildStores).Distinct()];
        Assert.Multiple(() =>
        {
            Assert.That(ret, Is.EqualTo(HarnessFootprint.ForkReturnPages), "glibc's fork's copies come first");
            Assert.That(addr, Has.Length.EqualTo(7));
            Assert.That(addr, Does.Contain(0x7fff_ffff_e000UL).And.Contain(0x7fff_f7dd_0000UL).And.Contain(0x7fff_f7dd_1000UL));
            Assert.That(addr, Does.Contain(h.PageAddr(HarnessFootprint.DataPage)).And.Contain(h.Layout.ChildOnlyPage));
            ulong[] named = [0x7fff_ffff_e000UL, 0x7fff_f7dd_0000UL, 0x7fff_f7dd_1000UL, h.PageAddr(HarnessFootprint.DataPage), h.Layout.ChildOnlyPage];
            long[] ldso = [.. Enumerable.Range(0, (int)h.Pages).Select(i => (long)i).Where(i => addr.Contains(h.PageAddr(i)) && !named.Contains(h.PageAddr(i)))];
            Assert.That(ldso, Has.Length.EqualTo(2));
            // ld.so's two rw pages (phase_end's binding loads from rw page 1 and stores to rw page 0; both tasks store to both
            // after the fork), not its RELRO page.
            Assert.That(ldso, Is.EquivalentTo(new[] { HarnessFootprint.LdsoRwPage0, HarnessFootprint.LdsoRwPage1 }), "ld.so's rw pages, not its RELRO");
            Assert.That(ldso.All(h.FirstBeforeSnapshot.Contains), "the binding role's pages");
        });
    }

    /// <summary>
    /// The fork's stores as recorded on Linux 6.18 (oracle/experiments/harness-stores/results/session19.txt: <c>FORK=1 flock
    /// /work/kernel.lock ./run.sh OUT swap-fork-shared</c>, 2 runs): the child's first write faults (error code bit 1; its
    /// instruction fetches left out) before it blocks on the pipe, page by page, and the parent's write faults on the
    /// start-up pages between do_fork and fork_settle's stack array. Real addresses map to the model's by role: TLS, stack and
    /// .data pages by place, ld.so's rw page 0 and 1 to the model's <see cref="HarnessFootprint.LdsoRwPage0"/> and
    /// <see cref="HarnessFootprint.LdsoRwPage1"/>, libc's untouched bss page 4 to <see cref="HarnessLayout.ChildOnlyPage"/>.
    /// </summary>
    [Test]
    public void The_fork_child_stores_as_the_kernels_child_did_and_the_parent_to_the_rest()
    {
        if (!HarnessFootprint.ForkChildRuns)
            Assert.Ignore("ECSMEM_ORACLE_FORK_CHILD=0: the session-18 model");
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        var model = new Dictionary<ulong, ulong>
        {
            [0x7fff_f7dd_0000] = h.PageAddr(HarnessFootprint.TlsPage),
            [0x7fff_f7dd_1000] = h.PageAddr(HarnessFootprint.RseqPage),
            [0x7fff_f7fa_c000] = h.Layout.ChildOnlyPage,
            [0x7fff_f7ff_d000] = h.PageAddr(HarnessFootprint.LdsoRwPage0),
            [0x7fff_f7ff_e000] = h.PageAddr(HarnessFootprint.LdsoRwPage1),
            [0x7fff_ffff_e000] = h.PageAddr(HarnessFootprint.TopStackPage),
            [0x5555_5555_9000] = h.PageAddr(HarnessFootprint.DataPage),
        };
        var runs = new List<(List<ulong> Child, List<ulong> Parent)>();
        string? parentPid = null, childPid = null;
        foreach (string line in File.ReadLines(Path.Combine(OracleDir, "experiments", "harness-stores", "results", "session19.txt")))
        {
            var run = System.Text.RegularExpressions.Regex.Match(line, @"^## run \S+: parent (\d+), child (\d+)");
            if (run.Success)
            {
                (parentPid, childPid) = (run.Groups[1].Value, run.Groups[2].Value);
                runs.Add(([], []));
                continue;
            }
            var f = System.Text.RegularExpressions.Regex.Match(line, @"^\S+-(\d+) .*page_fault_\w+: address=0x([0-9a-f]+) .*error_code=0x([0-9a-f]+)");
            if (!f.Success || runs.Count == 0)
                continue;
            ulong page = Convert.ToUInt64(f.Groups[2].Value, 16) & ~0xfffUL;
            int code = Convert.ToInt32(f.Groups[3].Value, 16);
            bool write = (code & 2) != 0, fetch = (code & 0x10) != 0;
            var (child, parent) = runs[^1];
            if (f.Groups[1].Value == childPid && write && !fetch && child.Count < 6)
                child.Add(page);
            // The parent's stores to start-up pages before fork_settle's array (below main's stack page).
            else if (f.Groups[1].Value == parentPid && write && model.ContainsKey(page) && parent.Count < 3)
                parent.Add(page);
        }
        Assert.That(runs, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            foreach (var (child, parent) in runs)
            {
                Assert.That(child.Select(a => model[a]), Is.EqualTo(h.ForkChildStores), "the child's stores, in order");
                Assert.That(parent.Select(a => model[a]), Is.EquivalentTo(HarnessFootprint.ForkReturnPages.Select(h.PageAddr)), "the parent's");
            }
            Assert.That(runs[0].Parent.Select(a => model[a]), Is.EqualTo(HarnessFootprint.ForkReturnPages.Select(h.PageAddr)), "the first run's order");
            // The child's new page is no harness page: the parent never maps it.
            Assert.That(Enumerable.Range(0, (int)h.Pages).Select(i => h.PageAddr(i)), Does.Not.Contain(h.Layout.ChildOnlyPage));
        });
    }

    /// <summary>The harness pages the model has touched since the window's end when phase_end reads smaps_rollup.</summary>
    private static long Resident(HarnessFootprint h, bool first) =>
        h.PhaseEnd.Concat(h.AfterWindow).Concat(h.BeforeSnapshot(first)).Concat(h.BetweenPhases).Distinct().Count();

    [Test]
    public void The_window_starts_on_the_top_stack_page_and_ends_on_the_second()
    {
        // oracle/experiments/window-stack/results/ustack.txt (ustack.sh: strace's getrusage pointer under record.sh's
        // strings, Linux 6.18, gcc -O2): phase_start's u at 0x7fffffffebc0 (the top stack page), phase_end's at
        // 0x7fffffffdb90 with rsp 0x50 below it (objdump: lea 0x50(%rsp),%rsi), so `call getrusage` stores its return
        // address at 0x7fffffffdb38, the second page; its prologue pushes 6 registers 0x10e8 + 48 bytes above that rsp,
        // on the top page. min0 and maj0 are in the .data page (nm), stored after phase_start's getrusage and read after
        // phase_end's. perf's majors (results/majors.txt) show the second page's fault at 0x7fffffffdb68 counted in the
        // window (swappiness-60 file2: 10 majors, 9 of the file and that one). The GOT slot's load follows the call.
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        const ulong page = 4096;
        static ulong PageOf(ulong a) => a - (a % page);
        ulong dataPage = h.PageAddr(HarnessFootprint.DataPage);
        ulong rsp = 0x7fff_ffff_db90UL - 0x50;
        Assert.Multiple(() =>
        {
            Assert.That(h.PhaseStart.Select(h.PageAddr), Is.EqualTo(new[] { PageOf(0x7fff_ffff_ebc0UL), dataPage }), "phase_start: u, then min0 and maj0");
            Assert.That(h.PhaseEnd.Select(h.PageAddr), Is.EqualTo(new[] { PageOf(rsp + 0x10e8 + 8), PageOf(rsp - 8), dataPage }), "phase_end's pushes, the call's, the GOT slot");
            Assert.That(h.AfterWindow.Select(h.PageAddr), Is.EqualTo(new[] { dataPage }), "min0 and maj0 read after the window");
        });
    }

    [Test]
    public void The_windows_GOT_read_is_a_load_so_the_data_page_keeps_its_swap_slot()
    {
        // phase_end's `call getrusage@plt` jumps through the GOT slot in the .data page (window-stack: 0x5555555580b0 in
        // swap-anon-write): a load. On Linux 6.18 a read fault leaves the swapped-in page in the swap cache with its slot
        // (do_swap_page frees it on a write fault only), and it goes back there: oracle/experiments/stack-top's A2 slots
        // (2 runs of swap-anon-write with A2 stops) have .data still at slot 1 (3) at the write pass's end, where the
        // written pages (st64, ldrw0, bss0..3) took new slots 7638-7643; so the second stack page's fault reads it not
        // (perf: both majors in run 2 of window-stack/results/majors.txt).
        HarnessFootprint h = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        // A footprint without start-up pages (warm_up's 192 alone) has no window role: nothing is loaded.
        HarnessFootprint bare = HarnessFootprint.FromTotal(192, emptyEnvironment: true);
        Assert.Multiple(() =>
        {
            Assert.That(h.PhaseEnd, Is.EqualTo(new[] { HarnessFootprint.TopStackPage, HarnessFootprint.MainStackPage, HarnessFootprint.DataPage }));
            Assert.That(h.PhaseEndLoad, Is.EqualTo(HarnessFootprint.DataPage), "the GOT slot is read");
            Assert.That(bare.PhaseEnd, Is.Empty);
            Assert.That(bare.PhaseEndLoad, Is.EqualTo(-1));
        });
    }

    [Test]
    public void A_read_stores_to_sink_only_where_the_harness_is_modelled()
    {
        HarnessFootprint h = HarnessFootprint.FromTotal(213, emptyEnvironment: false);
        Assert.Multiple(() =>
        {
            Assert.That(ScenarioGenerator.SinkStore(null, h, write: false), Is.EqualTo(1));
            Assert.That(ScenarioGenerator.SinkStore(null, h, write: true), Is.EqualTo(0), "a write is p[x] = 1: no sink");
            Assert.That(ScenarioGenerator.SinkStore(null, null, write: false), Is.EqualTo(0), "no memcg: no harness pages");
        });
    }

    [Test]
    public void A_copy_of_buf_spans_the_data_pages_tail_and_the_bss_pages_from_0()
    {
        // harness.h: static char buf[1 << 18], which gcc puts 3,584 bytes before the end of the .data page (start-up
        // page 1). 213 pages: 21 start-up, 64 stack, bss 85-212. A whole buf: 3,584 bytes in .data, then 258,560 bytes
        // = 63 pages and 512 bytes: bss 0-63 (pages 85-148). A 4 KiB piece: .data and bss 0; 3,584 bytes: .data only.
        HarnessFootprint h = HarnessFootprint.FromTotal(213, emptyEnvironment: false);
        Assert.Multiple(() =>
        {
            Assert.That(h.BufPages(1 << 18), Is.EqualTo(new long[] { 1 }.Concat(Enumerable.Range(85, 64).Select(i => (long)i))));
            Assert.That(h.BufPages(24 << 20), Is.EqualTo(h.BufPages(1 << 18)), "a copy is at most sizeof buf");
            Assert.That(h.BufPages(4096), Is.EqualTo(new long[] { 1, 85 }));
            Assert.That(h.BufPages(3584), Is.EqualTo(new long[] { 1 }));
        });
    }

    [Test]
    public void A_swap_programs_first_phase_end_binds_after_its_smaps_read_in_the_kernels_order()
    {
        // The what-if ECSMEM_ORACLE_BINDING_AFTER_SMAPS=1 (HarnessFootprint.BindingAfterSmaps). Linux 6.18, the statics read
        // from kernel memory after each fault (oracle/experiments/swap-ra-state/results/kernel.txt, memfd-swap-memcg, every
        // run): after emit's pages and buf's four the first phase_end swaps in the program's RELRO page (slot 6), ld.so's RELRO
        // page (4) and rw page 1 (2), hits its scratch page, swaps in its rw page 0 and then the stack page below main's
        // (0x7fffffffc000: the top page of warm_up's array, slot 84).
        string kernel = File.ReadAllText(Path.Combine(OracleDir, "experiments", "swap-ra-state", "results", "kernel.txt"));
        Assert.That(kernel, Does.Contain("0x55555555d000:0/4/14 0x555555558ff0:0/2/6 0x7ffff7ffcc70:0/1/4 0x7ffff7ffe350:0/1/2 0x7ffff7fc07a8:1/1/2"));
        // 214 pages: 22 start-up pages, the array 22-85, the bss 86-213 (buf from 86, reg's page 213).
        HarnessFootprint late = HarnessFootprint.FromTotal(214, emptyEnvironment: true, bindingAfterSmaps: true);
        HarnessFootprint early = HarnessFootprint.FromTotal(214, emptyEnvironment: true);
        long[] binding = [11, 12, 13, 14, 15];
        Assert.Multiple(() =>
        {
            Assert.That(early.FirstBeforeSnapshot.Intersect(binding), Is.EquivalentTo(binding), "the model's default: before the smaps read");
            Assert.That(late.FirstBeforeSnapshot.Intersect(binding), Is.Empty);
            Assert.That(late.BetweenPhasesAfter(1), Is.EqualTo(new long[] { 86, 87, 88, 89, 14, 13, 11, 15, 12, 85, HarnessFootprint.TlsPage, 213 }));
            Assert.That(late.BetweenPhasesAfter(2), Is.EqualTo(new long[] { 86, 87, 88, 89, HarnessFootprint.TlsPage, 213 }), "later phase_ends bind nothing");
            Assert.That(early.BetweenPhasesAfter(1), Is.EqualTo(new long[] { 86, 87, 88, 89, HarnessFootprint.TlsPage, 213 }));
        });
    }
}
