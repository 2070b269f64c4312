using BenchmarkDotNet.Attributes;
using EcsMem.Components;
using EcsMem.Scenarios;
using EcsMem.Systems.AddressSpace;
using EcsMem.Systems.Kernel;
using EcsMem.Traces.Synthetic;
using MachineModel = EcsMem.Systems.Machine.Machine;

namespace EcsMem.Perf;

/// <summary>
/// Transparent huge pages against 4 KiB pages on a large random working set: 1,000,000 uniform accesses (half stores)
/// over 256 MiB of anonymous memory (65,536 pages, 2 MiB-aligned) in 512 MiB of RAM, THP <c>always</c> against
/// <c>never</c>. Time per op is host time per access; <see cref="Simulate"/> gives the simulated figures the README
/// quotes (cycles per access, faults, walk levels, TLB hits): with THP 128 faults instead of 65,536, walks of 3
/// levels instead of 4, and 2 MiB TLB entries covering 512 times more memory each. <see cref="Psc"/> adds the
/// paging-structure caches (<see cref="PscGeometry"/>), which shorten the walks of both modes.
/// </summary>
[MemoryDiagnoser]
public class PerfThpBenchmarks
{
    private const ulong Base = 0x4000_0000;
    private const int Pages = 65_536;

    [Params("4K", "THP")]
    public string Mode { get; set; } = "4K";

    /// <summary>Paging-structure caches off (every walk reads all its levels) or on (<see cref="PscGeometry"/>).</summary>
    [Params("off", "on")]
    public string Psc { get; set; } = "off";

    /// <summary>
    /// The caches of the "on" runs: PDE 32, PDPTE 4, PML4E 2 entries, fully associative. Illustrative sizes: Intel
    /// documents no PSC sizes for the Skylake core the TLB defaults describe (docs/tlb.md).
    /// </summary>
    public static readonly PscConfig PscGeometry = new(new TlbConfig(32, 32), new TlbConfig(4, 4), new TlbConfig(2, 2), null);

    private static int Accesses => PerfScale.Dry ? 20_000 : 1_000_000;

    [Benchmark(OperationsPerInvoke = 1_000_000)]
    public long RandomWorkingSet()
    {
        using var machine = Run(Mode == "THP", Psc == "on");
        return machine.CompletedAccesses();
    }

    /// <summary>The simulated outcome of one run: effective cycles per access and what made them.</summary>
    public readonly record struct Outcome(double CyclesPerAccess, long Faults, double WalkLevelsPerMiss, long TlbMisses, long Accesses, string TlbBySize = "", string PscRates = "");

    /// <summary>
    /// One run in the given mode, for the README's figure (<c>dotnet run -c Release --project perf/Ecs.Mem.Perf -- thp-figures</c>).
    /// </summary>
    public static Outcome Simulate(bool thp, bool psc = false)
    {
        using var r = Run(thp, psc);
        var k = r.Kernel;
        var st = k.World.Get<ProcessStats>(k.Tasks.Processes[0]);
        return new Outcome(k.Cycles.EffectiveAccessTime, r.Env.Counters.Get("pgfault"), (double)st.PageWalkLevels / st.TlbMisses, st.TlbMisses, st.Accesses,
            BySize(r.Env.Counters), psc ? PscRates(r.Env.Counters) : "");
    }

    /// <summary>The paging-structure caches' hit rates (of the walks that looked each one up).</summary>
    private static string PscRates(Simulation.CounterRegistry c)
    {
        static string Rate(long h, long m) => h + m == 0 ? "-" : FormattableString.Invariant($"{100.0 * h / (h + m):F2}% of {h + m}");
        return $"PSC PDE {Rate(c.Get("psc_pde_hit"), c.Get("psc_pde_miss"))}, PDPTE {Rate(c.Get("psc_pdpte_hit"), c.Get("psc_pdpte_miss"))}, "
            + $"PML4E {Rate(c.Get("psc_pml4e_hit"), c.Get("psc_pml4e_miss"))}";
    }

    /// <summary>The dTLB and STLB hit rates per page size, as the report derives them (docs/tlb.md).</summary>
    private static string BySize(Simulation.CounterRegistry c)
    {
        long d2h = c.Get("dtlb_2m_hit"), d2m = c.Get("dtlb_2m_miss"), s2h = c.Get("stlb_2m_hit"), s2m = c.Get("stlb_2m_miss");
        long d4h = c.Get("dtlb_hit"), d4m = c.Get("dtlb_miss") - d2h - d2m;
        long s4h = c.Get("stlb_hit") - s2h, s4m = c.Get("stlb_miss") - s2m;
        static string Rate(long h, long m) => h + m == 0 ? "-" : FormattableString.Invariant($"{100.0 * h / (h + m):F2}% of {h + m}");
        return $"dTLB 4K {Rate(d4h, d4m)}, dTLB 2M {Rate(d2h, d2m)}, STLB 4K {Rate(s4h, s4m)}, STLB 2M {Rate(s2h, s2m)}";
    }

    private static MachineModel Run(bool thp, bool psc)
    {
        string spec = $"uniform:count={Accesses},pages={Pages},base=0x{Base:x},writes=0.5,seed=7";
        var machine = new MachineModel(new KernelOptions
        {
            RamBytes = 512L << 20,
            SwapBytes = 0,
            Thp = ThpConfig.Default with { Enabled = thp ? ThpEnabled.Always : ThpEnabled.Never },
            Tlb = Systems.Tlb.TlbConfig.Default with { Psc = psc ? PscGeometry : null },
        });
        machine.AddProcess("random", mm => mm.Mm.DoMmap(Base, (ulong)Pages * Pte.PageSize, Prot.Read | Prot.Write,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0), new Systems.Cpu.Workload(WorkloadSpec.Parse(spec).Create()));
        machine.Run();
        return machine;
    }
}
