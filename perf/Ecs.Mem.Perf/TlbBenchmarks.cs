using BenchmarkDotNet.Attributes;
using EcsMem.Components;
using EcsMem.Ecs;
using EcsMem.Simulation;
using EcsMem.Systems.Tlb;
using EcsMem.Traces;

namespace EcsMem.Perf;

/// <summary>
/// Per-access cost of the TLB hierarchy (Skylake geometry, PCID on): the L1 hit path, the STLB hit path
/// (working set larger than the dTLB, smaller than the STLB) and the miss + fill path (every access misses
/// both levels, so the caller fills after a "walk"). Each invocation is <see cref="Accesses"/> accesses.
/// </summary>
[MemoryDiagnoser]
public class TlbBenchmarks
{
    private const int Accesses = 4096;
    private TlbSystem _tlb = null!;
    private ulong[] _hot = null!;
    private ulong[] _warm = null!;
    private ulong[] _cold = null!;
    private ulong _coldBase;

    [GlobalSetup]
    public void Setup()
    {
        _tlb = new TlbSystem(new World(), TlbConfig.Default, new CounterRegistry());
        _tlb.SwitchMm(_tlb.CreateMm());
        _hot = Pages(32, Accesses, 1);     // fits the 64-entry dTLB
        _warm = Pages(1024, Accesses, 2);  // fits the 1536-entry STLB, not the dTLB
        _cold = new ulong[Accesses];
        for (int i = 0; i < Accesses; i++) _cold[i] = (ulong)i << 12;
        foreach (ulong va in _hot) Touch(va);
        foreach (ulong va in _warm) Touch(va);
        foreach (ulong va in _hot) Touch(va);
    }

    // Pseudo-random page addresses drawn from `pages` distinct pages (a fixed LCG: deterministic).
    private static ulong[] Pages(int pages, int count, ulong seed)
    {
        var a = new ulong[count];
        ulong s = seed;
        for (int i = 0; i < count; i++)
        {
            s = s * 6364136223846793005UL + 1442695040888963407UL;
            a[i] = 0x4000_0000UL + ((s >> 33) % (ulong)pages << 12);
        }
        return a;
    }

    private void Touch(ulong va)
    {
        if (_tlb.Lookup(va, AccessKind.Load, out _) == TlbOutcome.Miss)
            _tlb.Fill(va, va >> 12, TlbFlags.Writable | TlbFlags.User, AccessKind.Load);
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong L1HitPath()
    {
        TlbHierarchy h = _tlb.Current;
        ulong sum = 0;
        foreach (ulong va in _hot)
        {
            h.Lookup(va, AccessKind.Load, out TlbEntry e);
            sum += e.Pfn;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong StlbHitPath()
    {
        TlbHierarchy h = _tlb.Current;
        ulong sum = 0;
        foreach (ulong va in _warm)
        {
            h.Lookup(va, AccessKind.Load, out TlbEntry e);
            sum += e.Pfn;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int MissAndFillPath()
    {
        TlbHierarchy h = _tlb.Current;
        int misses = 0;
        // A fresh 16 MiB window each invocation: never seen before, so every access misses both levels.
        ulong baseVa = _coldBase += (ulong)Accesses << 12;
        foreach (ulong off in _cold)
        {
            ulong va = baseVa + off;
            if (h.Lookup(va, AccessKind.Load, out _) == TlbOutcome.Miss)
            {
                h.Fill(va, va >> 12, TlbFlags.Writable | TlbFlags.User, AccessKind.Load);
                misses++;
            }
        }
        return misses;
    }
}
