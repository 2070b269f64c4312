using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Machine;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.AddressSpace;

/// <summary>
/// mlock, munlock, mlockall, munlockall and MAP_LOCKED as timeline operations (mm/mlock.c). Kernel figures from
/// KernelPrograms/populate.c on Linux 6.18.44 x86-64, 2026-12-05: a MAP_LOCKED mapping's VMA prints as one
/// "rw-p" line; "VmLck: 2048 kB" with two 256-page locked regions (one munlocked later: 256 + 256 pages = 2 MiB
/// while both were locked would be 2048 kB); MADV_DONTNEED on a locked area is EINVAL.
/// </summary>
public class MlockTests
{
    private const ulong X = 0x7f0000000000;

    private static SimMachine Run(string machine, string workload, string timeline, long stopAt)
    {
        string yaml = "machine: {" + machine + "}\nprocesses:\n  - name: p\n    layout: {exec: {}}\n    workload:\n      generator: \"" + workload + "\"\n"
            + "timeline:\n" + timeline;
        var m = ScenarioLoader.Build(ScenarioParser.Parse(new StringReader(yaml), "ml.yaml"));
        m.Run(() => m.Kernel.World.Get<ProcessStats>(m.Kernel.Tasks.Processes[0]).Accesses >= stopAt, checkEvery: 1);
        return m;
    }

    private static string Ev(string when, string op) => "  - " + when + "\n    process: p\n    " + op + "\n";

    [Test]
    public void MlockSplitsTheVmaCountsLockedVmAndMunlockMergesBack()
    {
        string t = Ev("at: 0", "mmap: {addr: 0x7f0000000000, length: 64K, prot: rw-, flags: private, fixed: true}")
            + Ev("after: 1", "mlock: {addr: 0x7f0000004001, length: 8K}");
        using var m = Run("ram: 64M, swap: 0", "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, 100);
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        // An unaligned start is rounded down and the length up: pages 4..6 (0x4001 + 8 KiB ends inside page 6).
        int i = mm.VmaLookup(X + 0x4000);
        Assert.That((mm.Vmas[i].Start, mm.Vmas[i].End), Is.EqualTo((X + 0x4000, X + 0x7000)));
        Assert.That(mm.Vmas[i].Flags & VmFlags.Locked, Is.EqualTo(VmFlags.Locked));
        Assert.That(mm.Struct.LockedVm, Is.EqualTo(3));
        Assert.That(m.AddressSpace.Log.Any(l => l.Contains(Strace.Line("mlock(0x7f0000004001, 8192)", "0"), StringComparison.Ordinal)));

        t += Ev("after: 1", "munlock: {addr: 0x7f0000000000, length: 64K}");
        using var m2 = Run("ram: 64M, swap: 0", "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, 100);
        mm = m2.Kernel.Tasks.MmOf(m2.Kernel.Tasks.Processes[0]).Mm;
        i = mm.VmaLookup(X);
        Assert.That((mm.Vmas[i].Start, mm.Vmas[i].End), Is.EqualTo((X, X + 0x10000)));
        Assert.That(mm.Struct.LockedVm, Is.EqualTo(0));
    }

    [Test]
    public void ErrorsAreLinuxs()
    {
        // A range starting in a hole is ENOMEM; mlockall(MCL_ONFAULT) alone is EINVAL; MADV_DONTNEED on a locked
        // area is EINVAL (populate.c: "dontneed locked errno 22").
        string t = Ev("at: 0", "mmap: {addr: 0x7f0000000000, length: 64K, prot: rw-, flags: private, fixed: true, locked: true}")
            + Ev("after: 1", "mlock: {addr: 0x7e0000000000, length: 4096}")
            + Ev("after: 1", "mlockall: {flags: onfault}")
            + Ev("after: 1", "madvise: {addr: 0x7f0000000000, length: 64K, advice: dontneed}")
            + Ev("after: 1", "mlock: {addr: 0x7f0000000000, length: 128K}");
        using var m = Run("ram: 64M, swap: 0", "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, 100);
        string log = string.Join("\n", m.AddressSpace.Log);
        Assert.That(log, Does.Contain(Strace.Line("mlock(0x7e0000000000, 4096)", "-1 ENOMEM (Cannot allocate memory)")));
        Assert.That(log, Does.Contain(Strace.Line("mlockall(MCL_ONFAULT)", "-1 EINVAL (Invalid argument)")));
        Assert.That(log, Does.Contain(Strace.Line("madvise(0x7f0000000000, 65536, MADV_DONTNEED)", "-1 EINVAL (Invalid argument)")));
        Assert.That(log, Does.Contain(Strace.Line("mlock(0x7f0000000000, 131072)", "-1 ENOMEM (Cannot allocate memory)")), "the mapped part is locked, then the hole is ENOMEM");
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        Assert.That(mm.Struct.LockedVm, Is.EqualTo(16), "MAP_LOCKED counts its 16 pages in locked_vm");
    }

    [Test]
    public void ReclaimNeverSwapsMlockedPages()
    {
        // 8 MiB locked and written, then 32 MiB more written in a 24 MiB machine with swap: reclaim swaps other
        // pages out but leaves every locked page resident (unevictable).
        string t = Ev("at: 0", "mmap: {addr: 0x7f0000000000, length: 40M, prot: rw-, flags: private, fixed: true}")
            + Ev("at: 0", "mlock: {addr: 0x7f0000000000, length: 8M}");
        using var m = Run("ram: 24M, swap: 64M", "loop:count=20480,base=0x7f0000000000,pages=10240,writes=1", t, 10300);
        Assert.That(m.Env.Counters.Get("pswpout"), Is.GreaterThan(0));
        var mms = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]);
        Assert.That(string.Join("\n", m.AddressSpace.Log), Does.Contain(Strace.Line("mlock(0x7f0000000000, 8388608)", "0")));
        for (ulong va = X; va < X + (8UL << 20); va += 4096)
            Assert.That(Systems.Memory.MemoryOps.IsMapped(mms.Tables.Lookup(va)), Is.True, $"0x{va:x}");
    }

    [Test]
    public void MlockallFutureLocksLaterMappingsAndMunlockallClearsAll()
    {
        string t = Ev("at: 0", "mlockall: {flags: current|future}")
            + Ev("at: 0", "mmap: {addr: 0x7f0000000000, length: 64K, prot: rw-, flags: private, fixed: true}");
        using var m = Run("ram: 64M, swap: 0", "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, 100);
        var mm = m.Kernel.Tasks.MmOf(m.Kernel.Tasks.Processes[0]).Mm;
        Assert.That(mm.Vmas[mm.VmaLookup(X)].Flags & VmFlags.Locked, Is.EqualTo(VmFlags.Locked));
        Assert.That(mm.Struct.LockedVm, Is.EqualTo(mm.Struct.TotalVm - 6), "everything but [vvar]/[vdso] (VM_SPECIAL is skipped) is locked");

        t += Ev("after: 1", "munlockall: {}");
        using var m2 = Run("ram: 64M, swap: 0", "loop:count=1000000,base=0x7f0000000000,pages=1,writes=1", t, 100);
        mm = m2.Kernel.Tasks.MmOf(m2.Kernel.Tasks.Processes[0]).Mm;
        Assert.That(mm.Struct.LockedVm, Is.EqualTo(0));
        Assert.That(mm.DefFlags, Is.EqualTo(VmFlags.None));
    }
}
