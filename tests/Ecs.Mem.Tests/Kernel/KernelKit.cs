using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Traces;
using SimMachine = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Tests.Kernel;

/// <summary>A trace held in an array: the accesses a test writes out by hand.</summary>
internal sealed class ArrayTrace(string name, MemoryAccess[] accesses) : ITraceReader
{
    private int _pos;

    public string SourceName => name;

    public int Read(Span<MemoryAccess> buffer)
    {
        int n = Math.Min(buffer.Length, accesses.Length - _pos);
        accesses.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }

    public void Dispose() { }
}

/// <summary>Builders and probes shared by the kernel tests.</summary>
internal static class KernelKit
{
    public const ulong Page = Pte.PageSize;

    /// <summary>2 MiB aligned, so every page below Base + 2 MiB shares one PTE table.</summary>
    public const ulong Base = 0x1000_0000;

    public static MemoryAccess R(ulong va) => new(va, 0, 8, AccessKind.Load);
    public static MemoryAccess W(ulong va) => new(va, 0, 8, AccessKind.Store);
    public static MemoryAccess X(ulong va) => new(va, 0, 4, AccessKind.Instr);

    /// <summary>
    /// Kernel settings for a small machine: <paramref name="ramPages"/> frames, FIFO replacement (the victim order
    /// is the order pages were first brought in, which the tests can work out by hand).
    /// </summary>
    public static KernelOptions Options(int ramPages = 1024, int swapPages = 256, long? minFreeKbytes = null) => new()
    {
        RamBytes = ramPages * (long)Page,
        SwapBytes = swapPages * (long)Page,
        MinFreeKbytes = minFreeKbytes,
        Policy = "fifo",
        // The tests map more than RAM + swap to drive reclaim and the OOM killer; Linux's heuristic (mode 0) would
        // refuse such a mapping at mmap, so they run as under vm.overcommit_memory = 1.
        OvercommitMemory = 1,
        // One access per tick, so a test can stop between any two accesses (the batch size never changes results:
        // PipelineEquivalenceTests).
        BatchSize = 1,
        // Linux 6.6's per-CPU lists (pcp_high_tuning: false): the frame counts these tests work out by hand assume
        // 6.6's refills of one batch, which on these small machines (batch 1) leave nothing on a list after an
        // allocation; 6.7+'s refills grow to 32 batches and keep pages off the buddy allocator (PcpHighTuningTests).
        // (With the tuning on, SwapSweepKswapdTests' 16 MiB machine keeps 3 pages resident in passes 3 and 4: 12,285 faults.)
        PcpHighTuning = false,
    };

    public static Workload Trace(string name, params MemoryAccess[] accesses) => new(new ArrayTrace(name, accesses));

    public static Entity Add(SimMachine m, string name, Action<MmState> layout, ulong start, params MemoryAccess[] accesses) =>
        m.AddProcess(name, layout, Trace(name, accesses), start);

    /// <summary>A layout of anonymous private mappings at fixed addresses.</summary>
    public static Action<MmState> Anon(ulong addr, ulong pages, Prot prot = Prot.Read | Prot.Write) =>
        mm => Mmap(mm, addr, pages, prot, MapFlags.Private | MapFlags.Anonymous);

    public static void Mmap(MmState mm, ulong addr, ulong pages, Prot prot, MapFlags flags, int file = -1, ulong pgoff = 0)
    {
        long r = mm.Mm.DoMmap(addr, pages * Page, prot, flags | MapFlags.Fixed, file, pgoff);
        Assert.That(r, Is.EqualTo((long)addr), "test layout mmap");
    }

    public static Process Proc(SimMachine m, Entity p) => m.Kernel.World.Get<Process>(p);
    public static ProcessStats Stats(SimMachine m, Entity p) => m.Kernel.World.Get<ProcessStats>(p);
    public static MmState Mm(SimMachine m, Entity p) => m.Kernel.Tasks.MmOf(p);
    public static long Counter(SimMachine m, string name) => m.Env.Counters.Get(name);

    /// <summary>The frame mapped at <paramref name="va"/>, or -1 when the PTE is not present.</summary>
    public static int PfnAt(SimMachine m, Entity p, ulong va)
    {
        var pte = new Pte(Mm(m, p).Tables.Lookup(va));
        return pte.Present ? (int)pte.Pfn : -1;
    }

    /// <summary>Runs tick by tick until <paramref name="until"/> holds (or the machine finishes).</summary>
    public static void RunUntil(SimMachine m, Func<bool> until)
    {
        while (!m.Finished && !until())
            m.Env.RunTick();
    }

    /// <summary>Runs until process <paramref name="p"/> has completed <paramref name="accesses"/> accesses.</summary>
    public static void RunUntilAccesses(SimMachine m, Entity p, long accesses) =>
        RunUntil(m, () => Stats(m, p).Accesses >= accesses);

    /// <summary>Frames holding page tables of every live mm (root included).</summary>
    public static long PageTableFrames(SimMachine m)
    {
        long n = 0;
        for (int pfn = 0; pfn < m.Kernel.Zone.Frames.Length; pfn++)
            if ((m.Kernel.Zone.Frames[pfn].Flags & FrameFlags.Slab) != 0)
                n++;
        return n;
    }
}
