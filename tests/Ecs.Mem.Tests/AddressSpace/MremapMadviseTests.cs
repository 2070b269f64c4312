using EcsMem.Components;
using EcsMem.Diagnostics;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// mremap and the page-dropping / flag madvise advices as timeline operations. The "kernel" figures come from
/// C programs run on this project's machine (Linux 6.18.44 x86-64, THP madvise, 2026-12-05): remap.c maps 64
/// anonymous pages, writes each, then shrinks, grows in place, moves (MREMAP_MAYMOVE with the next page taken),
/// moves again with MREMAP_FIXED and MREMAP_DONTUNMAP, printing getrusage minflt deltas and /proc/self/maps after
/// every step, then tries the error cases; populate.c does the same for MADV_DONTNEED, MADV_FREE, MADV_DONTFORK/
/// DOFORK, MADV_HUGEPAGE. What it printed is quoted at each test.
/// </summary>
public class MremapMadviseTests
{
    private const ulong X = 0x7f0000000000;
    private const int N = 64 * 4096;

    /// <summary>
    /// Runs until the process has made <paramref name="stopAt"/> accesses (its loop goes on, so the process is
    /// still alive and its address space can be inspected); later passes over present pages fault nothing.
    /// </summary>
    private static SimMachine Run(string workload, string timeline, long stopAt = 4096, string machine = "ram: 64M, swap: 0")
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n  - at: 0\n    process: p\n    mmap: {addr: 0x7f0000000000, length: " + N + ", prot: rw-, flags: private, fixed: true}\n" + timeline;
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "mm.yaml"));
        m.Run(() => Stats(m).Accesses >= stopAt, checkEvery: 1);
        return m;
    }

    private static ProcessStats Stats(SimMachine m) => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]);

    private static string Log(SimMachine m) => string.Join("\n", m.AddressSpace.Log);

    private static List<(ulong Start, ulong End, VmFlags Flags)> Vmas(SimMachine m, ulong lo, ulong hi)
    {
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        var list = new List<(ulong, ulong, VmFlags)>();
        foreach (ref readonly Vma v in mm.Vmas)
        {
            if (v.End > lo && v.Start < hi)
                list.Add((v.Start, v.End, v.Flags));
        }

        return list;
    }

    private static string Event(string after, string op) => "  - after: " + after + "\n    process: p\n    " + op + "\n";

    [Test]
    public void MovedPagesDoNotFaultAgain()
    {
        // Kernel (remap.c): "touch 64: minflt +64"; "grow maymove -> moved 1, mremap move: minflt +0";
        // "touch old 64 after move: minflt +0"; "fixed move: minflt +0"; "touch after fixed move: minflt +0".
        // Here: 64 writes fault the pages in; a blocker after the mapping forces the grow to move; a fixed move
        // brings it back over the blocker (MREMAP_FIXED unmaps the destination); the second pass over the same 64
        // pages faults nothing. Without move_page_tables it would fault all 64 again.
        string t = Event("64", "mmap: {addr: 0x7f0000040000, length: 4096, prot: r--, flags: private, fixed: true}")
            + Event("64", "mremap: {addr: 0x7f0000000000, old_length: 256K, new_length: 512K, flags: maymove|fixed, new_addr: 0x7f1000000000}")
            + Event("64", "mremap: {addr: 0x7f1000000000, old_length: 512K, new_length: 512K, flags: maymove|fixed, new_addr: 0x7f0000000000}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=64,writes=1", t, stopAt: 1000);
        string log = Log(m);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(64), log);
        Assert.That(log, Does.Contain("MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000000000) = 0x7f0000000000"));
        // One rw VMA of 128 pages at X (the blocker went with the fixed move's unmap), 64 pages resident.
        var v = Vmas(m, X, X + (2 * N));
        Assert.That(v.Select(x => (x.Start, x.End)).ToArray(), Is.EqualTo(new[] { (X, X + (2UL * N)) }));
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        Assert.That(mm.Mm.Struct.RssAnon, Is.EqualTo(64));
        ulong pages = 0;
        foreach (ref readonly Vma x in mm.Mm.Vmas)
            pages += x.Pages;
        Assert.That(mm.Mm.Struct.TotalVm, Is.EqualTo(pages));
    }

    [Test]
    public void GrowthBlockedByTheNextMappingMovesWithMayMove()
    {
        // Kernel: "grow maymove -> 0x7f7a0bddb000 (moved 1)", the old range gone from /proc/self/maps and the new
        // VMA 128 pages long (not merged with its new neighbour: its pgoff is the old address's).
        // The moved mapping W is not the one the workload touches, so the process lives on to be inspected.
        const ulong W = 0x7f2000000000;
        string t = Event("1", "mmap: {addr: 0x7f2000000000, length: 256K, prot: rw-, flags: private, fixed: true}")
            + Event("1", "mmap: {addr: 0x7f2000040000, length: 4096, prot: r--, flags: private, fixed: true}")
            + Event("1", "mremap: {addr: 0x7f2000000000, old_length: 256K, new_length: 512K, flags: maymove}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=64,writes=1", t, stopAt: 100);
        var line = m.AddressSpace.Log.Single(l => l.Contains("mremap(", StringComparison.Ordinal));
        ulong to = Convert.ToUInt64(line[(line.LastIndexOf("= 0x", StringComparison.Ordinal) + 4)..], 16);
        Assert.That(to, Is.Not.EqualTo(W));
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        Assert.That(mm.VmaLookup(W), Is.EqualTo(-1));
        Vma v = mm.Vmas[mm.VmaLookup(to)];
        Assert.That((v.Start, v.End, v.PgOff), Is.EqualTo((to, to + (2UL * N), W >> 12)));
    }

    [Test]
    public void ShrinkAndGrowInPlace()
    {
        // Kernel: shrink 64 -> 32 pages keeps the address, "after shrink" one VMA of 32 pages; grow back in place
        // "-> same address", then "touch after grow (32 new): minflt +32" (the shrink freed the upper 32 pages).
        string t = Event("64", "mremap: {addr: 0x7f0000000000, old_length: 256K, new_length: 128K}")
            + Event("64", "mremap: {addr: 0x7f0000000000, old_length: 128K, new_length: 256K}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=64,writes=1", t, stopAt: 1000);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(64 + 32), Log(m));
        Assert.That(Log(m), Does.Contain(Strace.Line("mremap(0x7f0000000000, 131072, 262144, 0)", "0x7f0000000000")));
        Assert.That(Vmas(m, X, X + N).Select(x => (x.Start, x.End)).ToArray(), Is.EqualTo(new[] { (X, X + (ulong)N) }));
    }

    [Test]
    public void MremapErrorsAreLinuxs()
    {
        // Kernel (remap.c): grow blocked without MAYMOVE errno 12; unaligned 22; FIXED without MAYMOVE 22; an
        // unmapped address 14; overlapping old and new ranges 22; old_len 0 on a private mapping 22; new_len 0 22;
        // an old range past the VMA's end 14; DONTUNMAP with a size change 22; an unknown flag bit 22 (not
        // expressible in a scenario).
        string t = Event("1", "mmap: {addr: 0x7f0000040000, length: 4096, prot: r--, flags: private, fixed: true}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 256K, new_length: 512K}")
            + Event("1", "mremap: {addr: 0x7f0000000001, old_length: 4096, new_length: 4096}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 4096, new_length: 8192, flags: fixed}")
            + Event("1", "mremap: {addr: 0x10000000, old_length: 4096, new_length: 8192, flags: maymove}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 16K, new_length: 16K, flags: maymove|fixed, new_addr: 0x7f0000002000}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 0, new_length: 4096, flags: maymove}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 4096, new_length: 0, flags: maymove}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 260K, new_length: 264K, flags: maymove}")
            + Event("1", "mremap: {addr: 0x7f0000000000, old_length: 8192, new_length: 4096, flags: maymove|dontunmap}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, stopAt: 100);
        string[] want =
        [
            Strace.Line("mremap(0x7f0000000000, 262144, 524288, 0)", "-1 ENOMEM (Cannot allocate memory)"),
            Strace.Line("mremap(0x7f0000000001, 4096, 4096, 0)", "-1 EINVAL (Invalid argument)"),
            Strace.Line("mremap(0x7f0000000000, 4096, 8192, MREMAP_FIXED, NULL)", "-1 EINVAL (Invalid argument)"),
            Strace.Line("mremap(0x10000000, 4096, 8192, MREMAP_MAYMOVE)", "-1 EFAULT (Bad address)"),
            Strace.Line("mremap(0x7f0000000000, 16384, 16384, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000002000)", "-1 EINVAL (Invalid argument)"),
            Strace.Line("mremap(0x7f0000000000, 0, 4096, MREMAP_MAYMOVE)", "-1 EINVAL (Invalid argument)"),
            Strace.Line("mremap(0x7f0000000000, 4096, 0, MREMAP_MAYMOVE)", "-1 EINVAL (Invalid argument)"),
            Strace.Line("mremap(0x7f0000000000, 266240, 270336, MREMAP_MAYMOVE)", "-1 EFAULT (Bad address)"),
            Strace.Line("mremap(0x7f0000000000, 8192, 4096, MREMAP_MAYMOVE|MREMAP_DONTUNMAP, NULL)", "-1 EINVAL (Invalid argument)"),
        ];
        foreach (string w in want)
            Assert.That(Log(m), Does.Contain(w));
    }

    [Test]
    public void DontUnmapLeavesTheOldRangeMappedAndEmpty()
    {
        // Kernel: "dontunmap -> new address, minflt +0"; the old VMA is still in /proc/self/maps; "touch old after
        // dontunmap: minflt +2" for 2 pages. Here 2 pages are written, moved with DONTUNMAP, written again at the
        // old address: 2 + 2 faults, and 2 pages are resident at the new address as well.
        string t = Event("2", "mremap: {addr: 0x7f0000000000, old_length: 8192, new_length: 8192, flags: maymove|dontunmap}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=2,writes=1", t);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(4), Log(m));
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        Assert.That(mm.Mm.Struct.RssAnon, Is.EqualTo(4));
        Assert.That(Vmas(m, X, X + N).Select(x => (x.Start, x.End)).ToArray(), Is.EqualTo(new[] { (X, X + (ulong)N) }));
    }

    [Test]
    public void DontNeedDropsAnonymousPagesSoTheyFaultAgain()
    {
        // Kernel (populate.c): "touch d: minflt +256", "dontneed: +0", "touch after dontneed: minflt +256".
        string t = Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: dontneed}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=64,writes=1", t);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(128), Log(m));
        Assert.That(Log(m), Does.Contain(Strace.Line("madvise(0x7f0000000000, 262144, MADV_DONTNEED)", "0")));
    }

    [Test]
    public void FreeKeepsPagesUntilReclaimAndTheyDoNotFaultAgain()
    {
        // Kernel: "free: minflt +0", "touch after free: minflt +0" (no memory pressure, so nothing was discarded).
        string t = Event("64", "madvise: {addr: 0x7f0000000000, length: 256K, advice: free}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=64,writes=1", t);
        Assert.That(Stats(m).MinFlt, Is.EqualTo(64), Log(m));
        Assert.That(Log(m), Does.Contain(Strace.Line("madvise(0x7f0000000000, 262144, MADV_FREE)", "0")));
    }

    [Test]
    public void ReclaimDiscardsCleanLazyFreePagesWithoutSwap()
    {
        // MADV_FREE on 4096 written pages, then 16 MiB of other anonymous memory in a 24 MiB machine with swap:
        // the clean lazy-free pages are reclaimed first and never written to swap (pswpout stays 0 for them).
        string yaml = """
            machine: {ram: 24M, swap: 64M}
            processes:
              - name: p
                layout: {exec: {}}
                workload:
                  generator: "seq:count=8192,base=0x7f0000000000,pages=8192,writes=1"
            timeline:
              - at: 0
                process: p
                mmap: {addr: 0x7f0000000000, length: 32M, prot: rw-, flags: private, fixed: true}
              - after: 4096
                process: p
                madvise: {addr: 0x7f0000000000, length: 16M, advice: free}
            """;
        using var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "free.yaml"));
        m.Run();
        // Linux counts them on the list they were reclaimed from: MADV_FREE moved them to the inactive file list
        // (lru_lazyfree_fn, pglazyfree per page), and discarding them counts pglazyfreed.
        Assert.That(m.Env.Counters.Get("pglazyfree"), Is.EqualTo(4096));
        Assert.That(m.Env.Counters.Get("pglazyfreed"), Is.GreaterThan(0));
        Assert.That(m.Env.Counters.Get("pgsteal_file"), Is.GreaterThanOrEqualTo(m.Env.Counters.Get("pglazyfreed")));
        Assert.That(m.Env.Counters.Get("pswpout"), Is.EqualTo(0), "clean MADV_FREE pages are discarded, not swapped");
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        Assert.That(mm.Mm.Struct.SwapEnts, Is.EqualTo(0));
    }

    [Test]
    public void MadviseErrorsAndVmaSplitsAreLinuxs()
    {
        // Kernel: DONTNEED on an mlocked area errno 22; an unknown advice 22 (not expressible here); MADV_DONTFORK on
        // pages 1..2 splits the VMA in three and MADV_DOFORK merges it back; MADV_HUGEPAGE splits it again.
        // An unmapped hole in the range gives ENOMEM after the mapped part was advised.
        string t = Event("1", "madvise: {addr: 0x7f0000001000, length: 8192, advice: dontfork}");
        using var m1 = Run("loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t);
        var v = Vmas(m1, X, X + N);
        Assert.That(v.Select(x => (x.Start, x.End)).ToArray(), Is.EqualTo(new[] { (X, X + 0x1000), (X + 0x1000, X + 0x3000), (X + 0x3000, X + (ulong)N) }));
        Assert.That(v[1].Flags & VmFlags.DontCopy, Is.EqualTo(VmFlags.DontCopy));

        t += Event("1", "madvise: {addr: 0x7f0000001000, length: 8192, advice: dofork}")
            + Event("1", "madvise: {addr: 0x7f0000001000, length: 8192, advice: hugepage}")
            + Event("1", "madvise: {addr: 0x7f000003f000, length: 8192, advice: nohugepage}");
        using var m2 = Run("loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t);
        v = Vmas(m2, X, X + N);
        Assert.That(v.Select(x => (x.Start, x.End)).ToArray(), Is.EqualTo(new[] { (X, X + 0x1000), (X + 0x1000, X + 0x3000), (X + 0x3000, X + 0x3f000), (X + 0x3f000, X + (ulong)N) }));
        Assert.That(v[1].Flags & (VmFlags.HugePage | VmFlags.DontCopy), Is.EqualTo(VmFlags.HugePage));
        Assert.That(v[3].Flags & VmFlags.NoHugePage, Is.EqualTo(VmFlags.NoHugePage));
        Assert.That(Log(m2), Does.Contain(Strace.Line("madvise(0x7f000003f000, 8192, MADV_NOHUGEPAGE)", "-1 ENOMEM (Cannot allocate memory)")), "the page after the mapping is a hole");
    }

    [Test]
    public void ForkSkipsDontForkAreas()
    {
        string t = Event("1", "madvise: {addr: 0x7f0000000000, length: 256K, advice: dontfork}")
            + Event("1", "fork: {child: c}");
        using var m = Run("loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t);
        var child = m.Kernel.Tasks.Processes.First(p => m.Kernel.Tasks.ProcessName(m.Kernel.World.Get<Process>(p)) == "c");
        var cmm = m.Kernel.Tasks.MmOf(child).Mm;
        Assert.That(cmm.VmaLookup(X), Is.EqualTo(-1));
        Assert.That(m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm.VmaLookup(X), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void ParserRefusesUnknownMremapFlags()
    {
        string yaml = "processes:\n  - name: p\n    workload: {generator: \"seq:count=1,pages=1\"}\ntimeline:\n  - at: 0\n    process: p\n    mremap: {addr: 0x7f0000000000, old_length: 4096, new_length: 8192, flags: maymove|grow}\n";
        var e = Assert.Throws<InputException>(() => ScenarioParser.Parse(new StringReader(yaml), "bad.yaml"));
        Assert.That(e!.Message, Does.Contain("unknown mremap flag 'grow'"));
    }
}
