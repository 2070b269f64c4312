using System.Globalization;
using System.Text;
using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.Reporting;
using static EcsMem.Tests.Kernel.KernelKit;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Report;

/// <summary>
/// /proc/PID/smaps per VMA (<see cref="Smaps"/>): its layout and VmFlags against what Linux 6.18 printed on the machine
/// the kit records on, THPeligible by the definition of thp_vma_allowable_orders, and smaps_rollup as the sum of the
/// VMAs' unrounded figures. The values themselves are held against the real kernel by the kit (oracle/, the programs
/// that say <c>smaps</c>).
/// </summary>
public class SmapsTests
{
    // /proc/PID/smaps of a 2 MiB-aligned 4 MiB anonymous region with MADV_HUGEPAGE, every page written, then the
    // gate area, as Linux 6.18.44 printed them on the recording machine.
    private const string RealThpVma = """
        100000000000-100000400000 rw-p 00000000 00:00 0 
        Size:               4096 kB
        KernelPageSize:        4 kB
        MMUPageSize:           4 kB
        Rss:                4096 kB
        Pss:                4096 kB
        Pss_Dirty:          4096 kB
        Shared_Clean:          0 kB
        Shared_Dirty:          0 kB
        Private_Clean:         0 kB
        Private_Dirty:      4096 kB
        Referenced:         4096 kB
        Anonymous:          4096 kB
        KSM:                   0 kB
        LazyFree:              0 kB
        AnonHugePages:      4096 kB
        ShmemPmdMapped:        0 kB
        FilePmdMapped:         0 kB
        Shared_Hugetlb:        0 kB
        Private_Hugetlb:       0 kB
        Swap:                  0 kB
        SwapPss:               0 kB
        Locked:                0 kB
        THPeligible:           1
        VmFlags: rd wr mr mw me ac hg 
        ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
        Size:                  4 kB
        KernelPageSize:        4 kB
        MMUPageSize:           4 kB
        Rss:                   0 kB
        Pss:                   0 kB
        Pss_Dirty:             0 kB
        Shared_Clean:          0 kB
        Shared_Dirty:          0 kB
        Private_Clean:         0 kB
        Private_Dirty:         0 kB
        Referenced:            0 kB
        Anonymous:             0 kB
        KSM:                   0 kB
        LazyFree:              0 kB
        AnonHugePages:         0 kB
        ShmemPmdMapped:        0 kB
        FilePmdMapped:         0 kB
        Shared_Hugetlb:        0 kB
        Private_Hugetlb:       0 kB
        Swap:                  0 kB
        SwapPss:               0 kB
        Locked:                0 kB
        THPeligible:           0
        VmFlags: ex 

        """;

    [Test]
    public void LayoutIsTheFileThisKernelPrinted()
    {
        // The recorded entries parsed back and printed by Smaps.AppendTo give the recorded text byte for byte.
        string real = RealThpVma.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
        var entries = new List<SmapsVmaSnapshot>();
        string[] lines = real.Split('\n');
        for (int i = 0; i + 24 < lines.Length; i += 25)
        {
            var fields = new List<NamedValue>();
            for (int j = 1; j <= 22; j++)
            {
                string l = lines[i + j];
                int colon = l.IndexOf(':', StringComparison.Ordinal);
                fields.Add(new NamedValue(l[..colon], long.Parse(l[(colon + 1)..^3].Trim(), CultureInfo.InvariantCulture)));
            }
            bool thp = lines[i + 23].EndsWith('1');
            entries.Add(new SmapsVmaSnapshot(lines[i], fields, thp, lines[i + 24]["VmFlags: ".Length..]));
        }
        Assert.That(entries, Has.Count.EqualTo(2));
        var names = new[] { "Size", "KernelPageSize", "MMUPageSize" }.Concat(
            SmapsRollup.Fields(default).Select(f => f.Name).Where(n => n is not ("Pss_Anon" or "Pss_File" or "Pss_Shmem")));
        Assert.That(entries[0].Fields.Select(f => f.Name), Is.EqualTo(names), "show_smap's fields and their order");
        var sb = new StringBuilder();
        foreach (SmapsVmaSnapshot e in entries)
            Smaps.AppendTo(sb, e);
        Assert.That(sb.ToString(), Is.EqualTo(real));
    }

    [Test]
    public void VmFlagsMnemonicsAreInBitOrderAsThisKernelPrintedThem()
    {
        // Each line as Linux 6.18 printed it for a mapping made with known flags (mmap, madvise, mlock2 calls), the
        // flags being those the calls set (include/linux/mm.h's bits).
        const VmFlags anon = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
        Assert.Multiple(() =>
        {
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Account | VmFlags.HugePage), Is.EqualTo("rd wr mr mw me ac hg "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Account | VmFlags.DontCopy), Is.EqualTo("rd wr mr mw me dc ac "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Account | VmFlags.DontDump), Is.EqualTo("rd wr mr mw me ac dd "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Account | VmFlags.WipeOnFork), Is.EqualTo("rd wr mr mw me ac wf "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Account | VmFlags.RandRead), Is.EqualTo("rd wr mr mw me rr ac "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Locked | VmFlags.LockOnFault | VmFlags.NoReserve), Is.EqualTo("rd wr mr mw me lo lf nr "));
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.Shared | VmFlags.MayShare | VmFlags.SeqRead), Is.EqualTo("rd wr sh mr mw me ms sr "));
            Assert.That(Smaps.VmFlagsLine(VmFlags.Read | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec | VmFlags.Locked | VmFlags.NoHugePage),
                Is.EqualTo("rd mr mw me lo nh "));
            Assert.That(Smaps.VmFlagsLine(VmFlags.Read | VmFlags.MayRead | VmFlags.PfnMap | VmFlags.Io | VmFlags.DontExpand | VmFlags.DontDump),
                Is.EqualTo("rd mr pf io de dd "), "[vvar]");
            Assert.That(Smaps.VmFlagsLine(anon | VmFlags.GrowsDown | VmFlags.Account), Is.EqualTo("rd wr mr mw me gd ac "), "[stack]");
            Assert.That(Smaps.VmFlagsLine(VmFlags.Exec), Is.EqualTo("ex "), "[vsyscall]");
            Assert.That(Smaps.VmFlagsLine(VmFlags.None), Is.EqualTo(""));
        });
    }

    private static Vma Anon(ulong start, ulong end, VmFlags extra = 0) => new()
    {
        Start = start,
        End = end,
        Flags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec | VmFlags.Account | extra,
        FileId = -1,
        Kind = VmaKind.Anonymous,
    };

    [Test]
    public void ThpEligibleFollowsTheSysfsModeAndTheVmaSize()
    {
        const ulong M2 = 2UL << 20, K64 = 64UL << 10, at = 0x7000_0000_0000;
        using var madvise = new SimMachine(Options(ramPages: 1024) with { Thp = ThpConfig.Default });
        using var always = new SimMachine(Options(ramPages: 1024) with { Thp = new ThpConfig(ThpEnabled.Always, ThpDefrag.Madvise, true) });
        using var never = new SimMachine(Options(ramPages: 1024) with { Thp = new ThpConfig(ThpEnabled.Never, ThpDefrag.Madvise, true) });
        // hugepages-64kB/enabled = always (order 4), the PMD size still following `never`.
        using var mthp = new SimMachine(Options(ramPages: 1024) with { Thp = new ThpConfig(ThpEnabled.Never, ThpDefrag.Madvise, true) { AnonOrdersAlways = 1 << 4 } });
        Assert.Multiple(() =>
        {
            // madvise mode: only VM_HUGEPAGE areas, and one holding an aligned 2 MiB block that ends at or before vm_end.
            Assert.That(Smaps.ThpEligible(madvise.Kernel, Anon(at, at + 2 * M2)), Is.False);
            Assert.That(Smaps.ThpEligible(madvise.Kernel, Anon(at, at + 2 * M2, VmFlags.HugePage)), Is.True);
            Assert.That(Smaps.ThpEligible(madvise.Kernel, Anon(at + 4096, at + M2 + 4096, VmFlags.HugePage)), Is.False, "2 MiB long but no aligned 2 MiB inside");
            Assert.That(Smaps.ThpEligible(madvise.Kernel, Anon(at + 4096, at + (2 * M2) + 4096, VmFlags.HugePage)), Is.True, "the block [at+2M, at+4M) ends before vm_end");
            Assert.That(Smaps.ThpEligible(madvise.Kernel, Anon(at, at + 2 * M2, VmFlags.HugePage | VmFlags.NoHugePage)), Is.False);
            // always mode: every private anonymous area big enough, unless VM_NOHUGEPAGE; never a shared (shmem) one.
            Assert.That(Smaps.ThpEligible(always.Kernel, Anon(at, at + M2)), Is.True);
            Assert.That(Smaps.ThpEligible(always.Kernel, Anon(at, at + M2 - 4096)), Is.False);
            Assert.That(Smaps.ThpEligible(always.Kernel, Anon(at, at + M2, VmFlags.NoHugePage)), Is.False);
            Assert.That(Smaps.ThpEligible(always.Kernel, Anon(at, at + M2, VmFlags.Shared | VmFlags.MayShare)), Is.False);
            Assert.That(Smaps.ThpEligible(always.Kernel, Anon(at, at + M2) with { Kind = VmaKind.File, FileId = 3 }), Is.False);
            Assert.That(Smaps.ThpEligible(never.Kernel, Anon(at, at + 2 * M2, VmFlags.HugePage)), Is.False);
            // An mTHP size set to always: a 64 KiB-aligned 64 KiB block suffices, without MADV_HUGEPAGE.
            Assert.That(Smaps.ThpEligible(mthp.Kernel, Anon(at, at + K64)), Is.True);
            Assert.That(Smaps.ThpEligible(mthp.Kernel, Anon(at + 4096, at + K64 + 4096)), Is.False);
            Assert.That(Smaps.ThpEligible(mthp.Kernel, Anon(at, at + K64 - 4096)), Is.False);
        });
    }

    // A parent and two fork children sharing written pages (map count 3: PSS thirds, which do not round evenly) on a
    // machine small enough to swap some of them out (swap entries shared by three: SwapPss thirds too).
    private const string SharedYaml = """
        machine:
          ram: 1M
          swap: 4M
        processes:
          - name: a
            layout: {exec: {heap: 1M}}
            workload: {generator: "uniform:count=9000,pages=200,writes=0.6,seed=3"}
            children: {count: 2, after: 2000, workload: {generator: "uniform:count=3000,pages=60,writes=0.1,seed=4"}}
        """;

    [Test]
    public void RollupIsTheSumOfTheVmasUnroundedFigures()
    {
        Scenario s = ScenarioParser.Parse(new StringReader(SharedYaml), "shared.yaml");
        using SimMachine m = ScenarioLoader.Build(s, 1);
        var recorder = new SnapshotRecorder(m, [SnapshotWhen.Parse("2500a"), SnapshotWhen.Parse("4000a"), SnapshotWhen.Parse("6000a")]) { WithSmaps = true };
        recorder.Start();
        m.Run(progress: _ => recorder.AfterTick(), checkEvery: 1);
        IReadOnlyList<Snapshot> snaps = recorder.Finish();
        bool sawFraction = false, sawSharedSwap = false;
        foreach (Snapshot snap in snaps)
        {
            Assert.That(snap.Reached, Is.True);
            foreach (ProcessSnapshot p in snap.Processes)
            {
                Assert.That(p.Smaps, Is.Not.Null);
                Assert.That(p.Smaps!.Select(v => v.Header), Is.EqualTo(p.Vmas.Select(v => v.MapsLine)), "one entry per maps line, in its order");
                var sum = new SmapsRollup.MemSizeStats();
                long pssKbOfVmas = 0;
                foreach (SmapsVmaSnapshot v in p.Smaps)
                {
                    SmapsRollup.MemSizeStats x = v.Stats;
                    sum.Resident += x.Resident; sum.SharedClean += x.SharedClean; sum.SharedDirty += x.SharedDirty;
                    sum.PrivateClean += x.PrivateClean; sum.PrivateDirty += x.PrivateDirty; sum.Referenced += x.Referenced;
                    sum.Anonymous += x.Anonymous; sum.LazyFree += x.LazyFree; sum.Swap += x.Swap; sum.AnonHugePages += x.AnonHugePages;
                    sum.SharedHugetlb += x.SharedHugetlb; sum.PrivateHugetlb += x.PrivateHugetlb;
                    sum.Pss += x.Pss; sum.PssAnon += x.PssAnon; sum.PssFile += x.PssFile; sum.PssShmem += x.PssShmem;
                    sum.PssDirty += x.PssDirty; sum.PssLocked += x.PssLocked; sum.SwapPss += x.SwapPss;
                    pssKbOfVmas += v.Fields.Single(f => f.Name == "Pss").Value;
                    sawFraction |= x.Pss % (Pte.PageSize << SmapsRollup.PssShift) != 0;
                    sawSharedSwap |= x.SwapPss % (Pte.PageSize << SmapsRollup.PssShift) != 0;
                    // The rounding per VMA: each printed figure is its own total shifted down.
                    Assert.That(v.Fields.Single(f => f.Name == "Rss").Value, Is.EqualTo((long)(x.Resident >> 10)));
                    Assert.That(v.Fields.Single(f => f.Name == "Size").Value, Is.EqualTo(v.Fields[0].Value));
                }
                // smaps_rollup adds the unrounded totals and rounds once: field for field the sum's figures.
                Assert.That(p.SmapsRollup!.Fields, Is.EqualTo(SmapsRollup.Fields(sum)), $"pid {p.Pid} at {snap.When}");
                long rollupPss = p.SmapsRollup.Fields.Single(f => f.Name == "Pss").Value;
                Assert.That(rollupPss, Is.InRange(pssKbOfVmas, pssKbOfVmas + p.Smaps.Count - 1), "the rollup's Pss loses under 1 kB per VMA less");
            }
        }
        Assert.That(sawFraction, Is.True, "some VMA has pages mapped three times (PSS thirds)");
        Assert.That(sawSharedSwap, Is.True, "some VMA has swap entries shared by three (SwapPss thirds)");
    }

    [Test]
    public void CliPrintsSmapsOnlyWhenAsked()
    {
        string teach = Path.Combine(Scenarios.ScenarioTestFiles.RepoRoot(), "samples", "scenarios", "teach-fault.yaml");
        var (code, plain, _) = ReportTestFiles.Run("run", teach);
        Assert.That(code, Is.Zero);
        Assert.That(plain, Does.Not.Contain("/smaps --"));
        var (code2, with, _) = ReportTestFiles.Run("run", teach, "--smaps");
        Assert.That(code2, Is.Zero);
        Assert.That(with, Does.Contain("/smaps --\n"));
        Assert.That(with.Replace(with[with.IndexOf("\n-- /proc/1/smaps --", StringComparison.Ordinal)..with.IndexOf("\n-- /proc/meminfo", StringComparison.Ordinal)], "", StringComparison.Ordinal),
            Is.EqualTo(plain), "--smaps adds the smaps section and changes nothing else");
        var (code3, _, err) = ReportTestFiles.Run("run", teach, "--smaps", "--snapshot", "none");
        Assert.That(code3, Is.EqualTo(2));
        Assert.That(err.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(err, Does.Contain("--smaps"));
    }
}
